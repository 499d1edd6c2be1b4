"""The server's API groups, cached on disk where kubectl caches them, and in its format.

kubectl keeps discovery for six hours in `<cache>/discovery/<host>/servergroups.json`
(k8s.io/cli-runtime pkg/genericclioptions/config_flags.go, ToDiscoveryClient and
getDefaultCacheDir; client-go discovery/cached/disk/cached_discovery.go, ServerGroups,
getCachedFile and writeCachedFile):

- <cache> is $KUBECACHEDIR, else ~/.kube/cache;
- <host> is the server URL without `https://` or `http://`, every character but letters,
  digits, `_`, `/`, `.`, `(` and `)` made `_` (computeDiscoverCacheDir): `127.0.0.1_6443`;
- the file is an APIGroupList (the core group `v1` first, then those of /apis), fresh while
  its modification time is less than the TTL old; it is written through a temporary file
  renamed into place, mode 0660, in directories of mode 0750.

The plugin reads that file while it is fresh (so a `kubectl get` before it spares it a
request, and it spares kubectl one), and writes it as kubectl would when it had to ask.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Mapping

TTL = 6 * 3600.0  # config_flags.go: time.Duration(6*time.Hour)
_ILLEGAL = re.compile(r"[^(\w/.)]", re.ASCII)  # overlyCautiousIllegalFileCharacters
GROUPS_FILE = "servergroups.json"


def cache_dir(environ: Mapping[str, str]) -> Path:
    """$KUBECACHEDIR, else ~/.kube/cache (getDefaultCacheDir)."""
    if environ.get("KUBECACHEDIR"):
        return Path(environ["KUBECACHEDIR"])
    return Path(environ.get("HOME") or Path.home()) / ".kube" / "cache"


def server_dir(cache: Path, server: str) -> Path:
    """computeDiscoverCacheDir(<cache>/discovery, server)."""
    host = server.replace("https://", "", 1).replace("http://", "", 1)
    return cache / "discovery" / _ILLEGAL.sub("_", host)


def read_groups(directory: Path, now: float | None = None) -> list[dict] | None:
    """The cached groups, or None when the file is missing, stale or not an APIGroupList."""
    path = directory / GROUPS_FILE
    try:
        if (time.time() if now is None else now) > path.stat().st_mtime + TTL:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") != "APIGroupList" or not isinstance(data.get("groups"), list):
        return None
    return data["groups"]


def write_groups(directory: Path, core: dict, groups: list[dict]) -> None:
    """Write servergroups.json as client-go does: /api's versions as the core group, then /apis's
    groups. Best effort: a cache that cannot be written is simply not there next time."""
    versions = [{"groupVersion": v, "version": v} for v in core.get("versions") or []]
    if not versions:
        return
    listing = {"kind": "APIGroupList", "apiVersion": "v1",
               "groups": [{"name": "", "versions": versions, "preferredVersion": versions[0]}, *groups]}
    import tempfile  # only when writing: it costs more to import than a read takes

    tmp = ""
    try:
        for folder in reversed([directory, *directory.parents]):  # os.MkdirAll(dir, 0750): each one made
            if not folder.exists():
                folder.mkdir(mode=0o750)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{GROUPS_FILE}.")
        with os.fdopen(fd, "w") as out:
            json.dump(listing, out)
        os.chmod(tmp, 0o660)
        os.replace(tmp, directory / GROUPS_FILE)
    except OSError:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def preferred(groups: list[dict], group: str) -> str | None:
    """A group's preferred version in a list of groups, or None when it is not there."""
    for entry in groups:
        if entry.get("name") == group:
            return (entry.get("preferredVersion") or {}).get("version")
    return None
