"""The release artefacts: the krew manifest, the one-file and one-folder binaries, completion."""
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kubectl_egress import __version__

ROOT = Path(__file__).resolve().parent.parent
ONEFILE = ROOT / "dist" / "kubectl-egress"
ONEDIR = ROOT / "dist" / "onedir" / "kubectl-egress" / "kubectl-egress"
MANIFEST = yaml.safe_load((ROOT / "plugin.yaml").read_text())


def test_manifest_fields():
    assert MANIFEST["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert MANIFEST["kind"] == "Plugin"
    assert MANIFEST["metadata"]["name"] == "egress"
    spec = MANIFEST["spec"]
    assert spec["version"] == f"v{__version__}"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", spec["version"])
    assert spec["homepage"].startswith("https://")
    assert 0 < len(spec["shortDescription"]) <= 50
    assert "kubectl egress externalname" in spec["description"]
    assert "Istio" in spec["caveats"] and "DestinationRule" in spec["caveats"]


def test_manifest_platforms():
    platforms = MANIFEST["spec"]["platforms"]
    selectors = [(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]) for p in platforms]
    assert selectors == [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")]
    for platform, (os_name, arch) in zip(platforms, selectors):
        archive = f"kubectl-egress_v{__version__}_{os_name}_{arch}.tar.gz"
        assert platform["uri"] == (f"https://github.com/kubectl-egress/kubectl-egress/releases/download/"
                                   f"v{__version__}/{archive}")
        assert re.fullmatch(r"[0-9a-f]{64}", platform["sha256"])
        assert platform["bin"] == "kubectl-egress"
        assert {"from": "LICENSE", "to": "."} in platform["files"]
        assert {"from": "kubectl-egress/*", "to": "."} in platform["files"]


@pytest.fixture(scope="module")
def krew_release(tmp_path_factory) -> tuple[Path, Path]:
    """What `make krew` makes, from the one-folder build `make test` builds: the archive, and a
    copy of plugin.yaml with its sha256 written in (the repository's own stays as committed)."""
    from release.build import krew
    assert ONEDIR.exists(), "build the binaries first: make build"
    out = tmp_path_factory.mktemp("krew")
    manifest = out / "plugin.yaml"
    shutil.copy(ROOT / "plugin.yaml", manifest)
    return krew(ONEDIR.parent, out, manifest), manifest


def test_manifest_sha256_matches_the_built_archive(krew_release):
    import tarfile
    from release.build import arch, os_name
    archive, manifest = krew_release
    assert archive.name == f"kubectl-egress_v{__version__}_{os_name()}_{arch()}.tar.gz"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert {(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]): p["sha256"]
            for p in yaml.safe_load(manifest.read_text())["spec"]["platforms"]}[(os_name(), arch())] == digest
    names = tarfile.open(archive).getnames()
    assert "LICENSE" in names and "kubectl-egress/kubectl-egress" in names


def test_update_manifest_writes_only_its_platform(tmp_path):
    from release.build import update_manifest
    path = tmp_path / "plugin.yaml"
    shutil.copy(ROOT / "plugin.yaml", path)
    update_manifest(path, "linux", "amd64", "a" * 64, "1.2.3")
    data = yaml.safe_load(path.read_text())
    assert data["spec"]["version"] == "v1.2.3"
    assert [p["sha256"][:1] for p in data["spec"]["platforms"]] == ["a", "0", "0", "0"]
    assert data["spec"]["platforms"][1]["uri"].endswith("/v1.2.3/kubectl-egress_v1.2.3_linux_arm64.tar.gz")
    assert path.read_text().startswith("# Krew plugin manifest")


def bare_env(bindir: Path, **extra) -> dict:
    """No Python, no venv: only the binary's folder and the system's tools."""
    return {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), **extra}


@pytest.mark.parametrize("binary", [ONEFILE, ONEDIR], ids=["onefile", "onedir"])
def test_binary_runs_without_python(binary, apiserver, tmp_path):
    assert binary.exists(), "build the binaries first: make build"
    env = bare_env(binary.parent, KUBECONFIG=str(apiserver.kubeconfig_path), KUBECACHEDIR=str(tmp_path / "c"))
    helped = subprocess.run(["kubectl", "egress", "--help"], env=env, capture_output=True, text=True)
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: kubectl egress")
    made = subprocess.run(["kubectl", "egress", "externalname", "my-httpbin", "httpbin.org"], env=env,
                          capture_output=True, text=True)
    assert made.stdout == "service/my-httpbin created\ndestinationrule.networking.istio.io/my-httpbin created\n"
    listed = subprocess.run(["kubectl", "egress", "get"], env=env, capture_output=True, text=True)
    assert listed.stdout.splitlines()[1].split()[:2] == ["my-httpbin", "ExternalName"]
    bad = subprocess.run(["kubectl", "egress", "externalname", "Bad_Name", "x.org"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith('error: NAME "Bad_Name"')


@pytest.mark.parametrize("binary", [ONEFILE, ONEDIR], ids=["onefile", "onedir"])
def test_binary_probes(binary, apiserver, tmp_path):
    from tests.netns import REASON
    if REASON:
        pytest.skip(REASON)
    env = bare_env(binary.parent, KUBECONFIG=str(apiserver.kubeconfig_path))
    subprocess.run([str(binary), "externalname", "my-httpbin", "httpbin.org"], env=env, check=True,
                   capture_output=True)
    probed = subprocess.run([str(binary), "probe", "--deploy-sources", "--all-sources"], env=env,
                            capture_output=True, text=True)
    assert probed.returncode == 0, probed.stderr
    assert [line.split()[3] for line in probed.stdout.splitlines()[1:]] == ["OK", "OK"]


def test_binary_is_its_own_completion_helper(apiserver, tmp_path):
    assert ONEDIR.exists(), "build the binaries first: make build"
    helper = tmp_path / "kubectl_complete-egress"
    helper.symlink_to(ONEDIR)
    env = bare_env(tmp_path, KUBECONFIG=str(apiserver.kubeconfig_path))
    subprocess.run([str(ONEDIR), "externalname", "my-httpbin", "httpbin.org"], env=env, check=True,
                   capture_output=True)
    out = subprocess.run([str(helper), "clean", ""], env=env, capture_output=True, text=True).stdout
    assert out == "my-httpbin\n:4\n"


def test_kubectl_completes_plugin_arguments(apiserver, kubectl):
    kubectl("egress", "externalname", "my-httpbin", "httpbin.org")
    res = kubectl("__complete", "egress", "get", "")
    assert res.out.splitlines() == ["my-httpbin", ":4"]
    res = kubectl("__complete", "egress", "pro")
    assert res.out.splitlines()[0].startswith("probe\t")


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _kubectl_egress_completion kubectl-egress"),
                                           ("zsh", "#compdef kubectl-egress"), ("fish", "complete --no-files --command kubectl-egress")])
def test_completion_scripts(egress, shell, marker):
    res = egress("completion", shell)
    assert res.code == 0 and marker in res.out


def test_completion_of_a_bad_shell(egress):
    res = egress("completion", "powershell")
    assert res.code == 2 and "powershell" in res.err


def test_installs_as_krew_would(krew_release, tmp_path, apiserver):
    """Krew's steps for our platform, on the archive make krew packs and the manifest it fills
    in: check the sha256, unpack, copy `files`, link `bin`, run it."""
    import fnmatch
    import tarfile

    from release.build import arch, os_name
    archive, manifest = krew_release
    platform = next(p for p in yaml.safe_load(manifest.read_text())["spec"]["platforms"]
                    if p["selector"]["matchLabels"] == {"os": os_name(), "arch": arch()})
    assert platform["uri"].endswith("/" + archive.name)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == platform["sha256"]
    unpacked, install, bindir = tmp_path / "download", tmp_path / "store" / "egress", tmp_path / "bin"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="tar")
    install.mkdir(parents=True)
    for rule in platform["files"]:
        for path in unpacked.rglob("*"):
            rel = path.relative_to(unpacked).as_posix()
            if fnmatch.fnmatch(rel, rule["from"]) and "/" not in rel[len(rule["from"].rstrip("*")):]:
                target = install / rule["to"] / path.name
                (shutil.copytree if path.is_dir() else shutil.copy2)(path, target)
    bindir.mkdir()
    (bindir / "kubectl-egress").symlink_to(install / platform["bin"])
    env = bare_env(bindir, KUBECONFIG=str(apiserver.kubeconfig_path), KUBECACHEDIR=str(tmp_path / "c"))
    assert (install / "LICENSE").exists()
    res = subprocess.run(["kubectl", "egress", "version"], env=env, capture_output=True, text=True)
    assert res.stdout.startswith(f"Client Version: v{__version__}\nServer Version: v1.33.1\n"), res.stderr
