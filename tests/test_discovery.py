"""Discovery cached where kubectl caches it (discovery.py): the path, the freshness, the format,
and real kubectl reading what the plugin wrote, and the other way round."""
from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from kubectl_egress import discovery


@pytest.mark.parametrize("env, expected", [
    ({"KUBECACHEDIR": "/x/cache", "HOME": "/home/u"}, "/x/cache"),
    ({"HOME": "/home/u"}, "/home/u/.kube/cache"),
    ({"KUBECACHEDIR": "", "HOME": "/home/u"}, "/home/u/.kube/cache"),
])
def test_cache_dir(env, expected):
    assert discovery.cache_dir(env) == Path(expected)


# cli-runtime computeDiscoverCacheDir: the scheme dropped, then [^(\w/.)] made "_"
@pytest.mark.parametrize("server, folder", [
    ("https://127.0.0.1:6443", "127.0.0.1_6443"),
    ("http://localhost:8080", "localhost_8080"),
    ("https://[::1]:6443", "___1__6443"),
    ("https://rancher.example/k8s/clusters/c-m-1", "rancher.example/k8s/clusters/c_m_1"),
    ("https://a-b.example:443", "a_b.example_443"),
])
def test_server_dir(server, folder):
    assert discovery.server_dir(Path("/c"), server) == Path("/c/discovery") / folder


def test_written_as_client_go_writes_it_and_fresh_for_six_hours(tmp_path):
    directory = tmp_path / "cache" / "discovery" / "127.0.0.1_6443"
    groups = [{"name": "networking.istio.io", "versions": [{"groupVersion": "networking.istio.io/v1", "version": "v1"}],
               "preferredVersion": {"groupVersion": "networking.istio.io/v1", "version": "v1"}}]
    discovery.write_groups(directory, {"kind": "APIVersions", "versions": ["v1"]}, groups)
    path = directory / "servergroups.json"
    data = json.loads(path.read_text())
    assert data["kind"] == "APIGroupList" and data["groups"][0] == {
        "name": "", "versions": [{"groupVersion": "v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "v1", "version": "v1"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o660
    assert all(stat.S_IMODE(d.stat().st_mode) == 0o750 for d in (directory, directory.parent, directory.parent.parent))
    assert os.listdir(directory) == ["servergroups.json"]
    cached = discovery.read_groups(directory)
    assert discovery.preferred(cached, "networking.istio.io") == "v1"
    assert discovery.preferred(cached, "apps") is None
    assert discovery.read_groups(directory, now=time.time() + 6 * 3600 - 60) is not None
    assert discovery.read_groups(directory, now=time.time() + 6 * 3600 + 60) is None
    path.write_text("{not json")
    assert discovery.read_groups(directory) is None
    assert discovery.read_groups(tmp_path / "nowhere") is None


def test_kubectl_and_the_plugin_share_the_cache(apiserver, egress, kubectl, tmp_path, monkeypatch):
    # kubectl ran first: the plugin asks the server nothing about discovery
    assert kubectl("get", "svc").code == 0
    apiserver.clear_requests()
    assert egress("get").code == 0
    paths = [r["path"] for r in apiserver.requests()]
    assert not any(p in ("/api", "/apis") or p.startswith("/apis/networking.istio.io?") or
                   p == "/apis/networking.istio.io" for p in paths), paths
    # a cache of its own: the plugin writes it, and real kubectl works from it
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "fresh"))
    assert egress("get").code == 0
    written = discovery.read_groups(discovery.server_dir(tmp_path / "fresh", apiserver.url))
    assert discovery.preferred(written, "networking.istio.io") == "v1beta1"
    assert kubectl("get", "svc,dr").code == 0
    apiserver.clear_requests()
    assert egress("get").code == 0
    assert "/apis" not in [r["path"] for r in apiserver.requests()]
