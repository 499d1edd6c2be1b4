"""Build kubectl-egress with PyInstaller, and the krew release archive.

    python release/build.py onefile     dist/kubectl-egress (one file, for direct download)
    python release/build.py onedir      dist/onedir/kubectl-egress/ (one folder, what krew ships)
    python release/build.py krew        the onedir build, packed with LICENSE as
                                          dist/kubectl-egress_vX.Y.Z_OS_ARCH.tar.gz (here:
                                          linux_amd64), its sha256 written into plugin.yaml

The bundle leaves out what the program never imports: of the kubernetes
client's generated API and model modules only those that auth-provider
entries need are kept (found by importing that path in a child
interpreter), and the standard library's GUI, test and packaging modules are
dropped. PyInstaller's run-time hooks for multiprocessing and inspect are
replaced by an empty one (release/hooks): they cost every start a quarter of
`--help`'s instructions for cases the plugin never meets.
"""
from __future__ import annotations

import hashlib
import platform
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
NAME = "kubectl-egress"
ENTRY = ROOT / "release" / "entry.py"
HOOKS = ROOT / "release" / "hooks"
ALWAYS_EXCLUDED = ["tkinter", "unittest", "pydoc_data", "lib2to3", "xmlrpc", "sqlite3", "curses",
                   "distutils", "setuptools", "pkg_resources", "ensurepip", "idlelib", "test",
                   "google", "IPython", "matplotlib", "numpy",
                   # reached from pydantic (which the official client needs) but never loaded by
                   # the plugin's path into that client (OFFICIAL_CLIENT_USE)
                   "rich", "pygments", "markdown_it"]
# what the plugin imports from the official client, on any path (auth-provider entries)
OFFICIAL_CLIENT_USE = """
import sys
from kubernetes.client.configuration import Configuration
from kubernetes.config.kube_config import KubeConfigLoader
print("\\n".join(sorted(m for m in sys.modules if m.startswith("kubernetes."))))
"""


def version() -> str:
    text = (ROOT / "kubectl_egress" / "__init__.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def unused_client_modules() -> list[str]:
    """Generated API and model modules of the kubernetes client that the plugin never loads."""
    import pkgutil

    import kubernetes.client.api as apis
    import kubernetes.client.models as models

    used = set(subprocess.run([sys.executable, "-c", OFFICIAL_CLIENT_USE], check=True,
                              capture_output=True, text=True).stdout.split())
    every = [f"kubernetes.client.api.{m.name}" for m in pkgutil.iter_modules(apis.__path__)]
    every += [f"kubernetes.client.models.{m.name}" for m in pkgutil.iter_modules(models.__path__)]
    return sorted(m for m in every if m not in used)


def pyinstaller(mode: str) -> Path:
    workpath = ROOT / "build" / mode
    distpath = DIST if mode == "onefile" else DIST / "onedir"
    args = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
            f"--{mode}", "--name", NAME, "--paths", str(ROOT), "--workpath", str(workpath),
            "--specpath", str(workpath), "--distpath", str(distpath)]
    if shutil.which("strip"):
        args.append("--strip")  # drop symbols from the bundled shared libraries
    args += ["--additional-hooks-dir", str(HOOKS)]
    for module in ALWAYS_EXCLUDED + unused_client_modules():
        args += ["--exclude-module", module]
    done = subprocess.run(args + [str(ENTRY)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"PyInstaller failed ({mode}), exit {done.returncode}")
    built = distpath / NAME if mode == "onefile" else distpath / NAME / NAME
    print(f"built {built.relative_to(ROOT)}")
    return built


def arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def os_name() -> str:
    return "darwin" if sys.platform == "darwin" else "linux"


def archive_name(system: str | None = None, cpu: str | None = None) -> str:
    return f"{NAME}_v{version()}_{system or os_name()}_{cpu or arch()}.tar.gz"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack(folder: Path, archive: Path) -> str:
    """The krew archive: the one-folder build as kubectl-egress/, and LICENSE. Its sha256."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=NAME)
        tar.add(ROOT / "LICENSE", arcname="LICENSE")
    return sha256(archive)


def krew(folder: Path | None = None, dist: Path = DIST, manifest: Path = ROOT / "plugin.yaml") -> Path:
    """Pack the one-folder build (built now unless given) into dist/, its sha256 into manifest."""
    archive = dist / archive_name()
    digest = pack(folder or pyinstaller("onedir").parent, archive)
    update_manifest(manifest, os_name(), arch(), digest, version())
    print(f"built {archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive} sha256 {digest}")
    return archive


def update_manifest(path: Path, system: str, cpu: str, digest: str, release: str) -> None:
    """Write version, and the sha256 of the os/arch platform entry, into plugin.yaml (text edit,
    so comments and layout stay)."""
    text = path.read_text()
    text = re.sub(r"(?m)^(  version: )v\S+$", rf"\g<1>v{release}", text)
    text = re.sub(r"/v\d+\.\d+\.\d+/", f"/v{release}/", text)
    text = re.sub(r"_v\d+\.\d+\.\d+_", f"_v{release}_", text)
    blocks = re.split(r"(?m)^(?=  - selector:)", text)
    for i, block in enumerate(blocks):
        if re.search(rf"os: {system}\b", block) and re.search(rf"arch: {cpu}\b", block):
            blocks[i] = re.sub(r"(?m)^(    sha256: ).*$", rf'\g<1>"{digest}"', block)
    path.write_text("".join(blocks))


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("onefile", "onedir", "krew"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "krew":
        krew()
    else:
        pyinstaller(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
