"""Container images with contents: what a container can run, as its runtime finds it.

A pod's containers run on this machine's own programs (see network.py), so an
image in this catalogue says which of them its container has, where, and as whom
it runs. The images and where their contents were looked up:

- `curlimages/curl` (also `quay.io/curl/curl`), any tag or digest: Alpine (BusyBox,
  musl-utils), curl at /usr/bin/curl, ENTRYPOINT /entrypoint.sh, CMD curl, USER
  curl_user (curl/curl-container create_base_image.sh, create_appliance_image.sh,
  etc/entrypoint.sh). So: curl and sh.
- `busybox`: BusyBox with every applet in /bin (`busybox --install /bin`) and
  /usr/bin/env, CMD sh, user root (docker-library/busybox
  Dockerfile-builder.template). So: sh, no curl.
- `alpine`: BusyBox and musl-utils (getent, ...), CMD /bin/sh, user root. So: sh, no curl.
- `gcr.io/distroless/{static,base,base-nossl,cc}[-debianNN]`: "do not contain
  package managers, shells or any other programs", empty entrypoint; `nonroot`
  tags run as 65532; `debug` tags add a BusyBox shell under /busybox
  (GoogleContainerTools/distroless README.md, base/README.md). So: neither.

Who a container's processes run as (`identity`): the image's /etc/passwd knows its users:
root (0:0) and nobody (65534:65534) everywhere; curl_user is 100:101 in the curl image
(`adduser -S curl_user -G curl_group` in create_base_image.sh: Alpine's first free system
uid and gid; `id` there says `uid=100(curl_user) gid=101(curl_group)`); distroless has
nonroot, 65532:65532 (base/README.md).

BusyBox puts each applet in the directory its source declares (busybox 1_36_1,
`//applet:` lines: sh and sleep in /bin, head and wget in /usr/bin, ...); Alpine
installs them there; the busybox image puts all of them in /bin.

An image that is not in the catalogue runs with every program of this machine,
as before images had contents.

What a missing program does is containerd's and runc's answer, through kubelet's
streaming server (k8s.io/kubelet pkg/cri/streaming/remotecommand/exec.go
ServeExec: a failure that is not an exit code is `error executing command in
container: ...` as an InternalError Status); kubectl prints its message and exits 1:

    error: Internal error occurred: error executing command in container: failed to
    exec in container: failed to start exec "<id>": OCI runtime exec failed: exec
    failed: unable to start container process: exec: "curl": executable file not
    found in $PATH: unknown
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
DEFAULT_PATH = ":".join(PATH_DIRS)  # containerd's default when the image sets none

# BusyBox applets and the directory each declares (busybox 1_36_1, `//applet:` lines).
_BIN, _USR_BIN, _SBIN = "/bin", "/usr/bin", "/sbin"
BUSYBOX_APPLETS: dict[str, str] = {
    **{name: _BIN for name in (
        "sh", "ash", "sleep", "cat", "echo", "ls", "mkdir", "mktemp", "rm", "rmdir", "grep", "egrep",
        "fgrep", "sed", "hostname", "ps", "kill", "true", "false", "date", "base64", "dd", "touch",
        "cp", "mv", "ln", "chmod", "chown", "pwd", "ping", "stat", "vi", "netstat", "usleep", "rev",
        "df", "mount", "umount", "gzip", "gunzip", "zcat", "tar", "nice", "watch", "sync", "dmesg",
        "printenv", "uname")},
    **{name: _USR_BIN for name in (
        "mkfifo", "head", "tail", "awk", "tr", "cut", "wc", "sort", "uniq", "env", "id", "wget", "nc",
        "nslookup", "timeout", "printf", "test", "[", "[[", "tee", "xargs", "find", "sha256sum",
        "md5sum", "od", "basename", "dirname", "seq", "which", "whoami", "expr", "less", "traceroute",
        "telnet", "yes", "tac", "readlink", "realpath", "du", "nohup", "top", "free", "uptime",
        "hexdump", "xxd", "cmp", "diff", "patch", "install", "tty", "clear", "reset")},
    **{name: _SBIN for name in ("ip", "ifconfig")},
}
# this machine's program for an applet whose name it lacks
HOST_ALIASES = {"ash": "sh", "[[": "["}


# Alpine's base besides BusyBox: musl-utils (getent, getconf, iconv, ldd)
ALPINE_EXTRAS = {"/usr/bin/getent": "getent", "/usr/bin/getconf": "getconf", "/usr/bin/iconv": "iconv",
                 "/usr/bin/ldd": "ldd"}


def _alpine_busybox() -> dict[str, str]:
    return {**{f"{d}/{name}": name for name, d in BUSYBOX_APPLETS.items()}, **ALPINE_EXTRAS}


def _busybox_in(directory: str) -> dict[str, str]:
    return {f"{directory}/{name}": name for name in BUSYBOX_APPLETS}


BASE_USERS = (("root", 0, 0), ("nobody", 65534, 65534))


@dataclass(frozen=True)
class Image:
    """What a container of this image has: its programs (path in the image -> program
    name on this machine), its config's User, Entrypoint, Cmd and PATH."""

    name: str
    programs: dict[str, str]
    user: str = ""  # the image config's User; "" runs as root
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    path: str = DEFAULT_PATH
    # curl-container's /entrypoint.sh (played by container_argv, not linked): arguments that
    # start with an option or name no command go to curl, then `exec "$@"`
    wraps_curl: bool = False
    users: tuple[tuple[str, int, int], ...] = BASE_USERS  # /etc/passwd: (name, uid, gid)

    def lookup(self, command: str) -> tuple[str, str]:
        """(path in the image, '') for a program the runtime finds, or ('', runc's reason)."""
        if "/" in command:
            path = os.path.normpath(command if command.startswith("/") else "/" + command)
            if path in self.programs:
                return path, ""
            return "", f"stat {command}: no such file or directory"
        for directory in self.path.split(":"):
            candidate = f"{directory.rstrip('/')}/{command}"
            if candidate in self.programs:
                return candidate, ""
        return "", "executable file not found in $PATH"

    def has(self, command: str) -> bool:
        return bool(self.lookup(command)[0])

    @property
    def uid(self) -> int | None:
        """The numeric user the image runs as, None when its User is a name (kubelet's
        getImageUser: an empty User is root)."""
        user = self.user.split(":", 1)[0]
        if not user:
            return 0
        return int(user) if user.isdigit() else None


CURL = Image("curl", {**_alpine_busybox(), "/usr/bin/curl": "curl"},
             user="curl_user", entrypoint=("/entrypoint.sh",), cmd=("curl",), wraps_curl=True,
             users=BASE_USERS + (("curl_user", 100, 101),))
BUSYBOX = Image("busybox", {**_busybox_in(_BIN), "/usr/bin/env": "env"}, cmd=("sh",))
ALPINE = Image("alpine", _alpine_busybox(), cmd=("/bin/sh",))
DISTROLESS_USERS = BASE_USERS + (("nonroot", 65532, 65532),)
DISTROLESS = Image("distroless", {}, users=DISTROLESS_USERS)
DISTROLESS_NONROOT = Image("distroless", {}, user="65532", users=DISTROLESS_USERS)
DISTROLESS_DEBUG = Image("distroless", _busybox_in("/busybox"), entrypoint=("/busybox/sh",),
                         path=DEFAULT_PATH + ":/busybox", users=DISTROLESS_USERS)
DISTROLESS_DEBUG_NONROOT = Image("distroless", _busybox_in("/busybox"), user="65532",
                                 entrypoint=("/busybox/sh",), path=DEFAULT_PATH + ":/busybox",
                                 users=DISTROLESS_USERS)

DISTROLESS_FLAVOURS = re.compile(r"gcr\.io/distroless/(static|base|base-nossl|cc)(-debian\d+)?")


@dataclass(frozen=True)
class Reference:
    """An image reference, normalized as distribution/reference ParseNormalizedNamed does."""

    repository: str  # docker.io/library/busybox
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        """As the runtime reports the image it runs (a missing tag is latest)."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"

    @property
    def image_id(self) -> str:
        """`repository@sha256:...`: the pinned digest, else one this server makes up per tag."""
        digest = self.digest or "sha256:" + hashlib.sha256(str(self).encode()).hexdigest()
        return f"{self.repository}@{digest}"


def parse(reference: str) -> Reference:
    rest, _, digest = reference.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = ""
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
    first, _, remainder = rest.partition("/")
    # splitDockerDomain: a first component with '.' or ':', localhost, or an upper-case letter
    if remainder and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        domain, path = first, remainder
    else:
        domain, path = "docker.io", rest
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return Reference(f"{domain}/{path}", tag, digest)


def lookup(reference: str) -> Image | None:
    """The catalogue's image for a container's `image`, None when its contents are unknown."""
    ref = parse(reference)
    repo, tag = ref.repository, ref.tag
    if repo in ("docker.io/curlimages/curl", "quay.io/curl/curl"):
        return CURL
    if repo == "docker.io/library/busybox":
        return BUSYBOX
    if repo == "docker.io/library/alpine":
        return ALPINE
    if DISTROLESS_FLAVOURS.fullmatch(repo):
        debug, nonroot = tag.startswith("debug"), tag.endswith("nonroot")
        if debug:
            return DISTROLESS_DEBUG_NONROOT if nonroot else DISTROLESS_DEBUG
        return DISTROLESS_NONROOT if nonroot else DISTROLESS
    return None


def exec_failure(command: str, reason: str) -> dict:
    """The Status kubelet's streaming server sends on the error channel when the runtime
    cannot start the command (apierrors.NewInternalError of containerd's error)."""
    cause = (f'error executing command in container: failed to exec in container: failed to '
             f'start exec "{secrets.token_hex(32)}": OCI runtime exec failed: exec failed: unable '
             f'to start container process: exec: "{command}": {reason}: unknown')
    return {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {cause}",
            "reason": "InternalError", "details": {"causes": [{"message": cause}]}, "code": 500}


def start_failure(command: str, reason: str) -> str:
    """containerd's message when a container's own command is missing (kubelet's StartError)."""
    return ("failed to create containerd task: failed to create shim task: OCI runtime create "
            "failed: runc create failed: unable to start container process: exec: "
            f'"{command}": {reason}: unknown')


@dataclass(frozen=True)
class Identity:
    """The user a container's processes run as: uid, gid and supplementary groups."""

    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()

    @property
    def root(self) -> bool:
        return self.uid == 0 and self.gid == 0 and not self.groups


def identity(image: Image | None, container: dict, pod: dict) -> Identity:
    """Who the container's processes run as.

    The kubelet merges the pod's and the container's securityContext, the container's
    fields winning, and adds the pod's fsGroup to its supplementalGroups
    (pkg/kubelet/kuberuntime/security_context.go determineEffectiveSecurityContext);
    containerd then sets the user (internal/cri/server container_create_linux.go, and
    pkg/oci/spec_opts.go WithUser, WithUserID, WithUsername): runAsUser, with its group
    from the image's /etc/passwd (0 when the uid is not there) unless runAsGroup says
    otherwise; without runAsUser the image's USER, `name` or `uid[:gid]`, resolved in
    /etc/passwd. An image outside the catalogue runs as root unless the context says.
    """
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def field(name: str):
        value = sc.get(name, pod_sc.get(name))
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    run_as, run_as_group = field("runAsUser"), field("runAsGroup")
    users = image.users if image is not None else BASE_USERS
    if run_as is not None:
        uid, gid = run_as, next((g for _, u, g in users if u == run_as), 0)
    elif image is not None and image.user:
        name, _, group = image.user.partition(":")
        entry = next(((u, g) for n, u, g in users if n == name or str(u) == name), None)
        uid, gid = entry if entry is not None else (int(name) if name.isdigit() else 0, 0)
        if group.isdigit():
            gid = int(group)
    else:
        uid, gid = 0, 0
    if run_as_group is not None:
        gid = run_as_group
    groups = [g for g in pod_sc.get("supplementalGroups") or [] if isinstance(g, int)]
    if isinstance(pod_sc.get("fsGroup"), int):
        groups.append(pod_sc["fsGroup"])
    return Identity(uid, gid, tuple(dict.fromkeys(groups)))


def container_argv(image: Image | None, container: dict) -> list[str]:
    """The process a container starts: command (else the image's ENTRYPOINT) and args
    (else, without a command, the image's CMD), as the runtime joins them."""
    command = list(container.get("command") or [])
    args = list(container.get("args") or [])
    if image is None:
        return command + args
    if not command:
        argv = list(image.entrypoint) + (args or list(image.cmd))
        if image.wraps_curl and argv[:1] == list(image.entrypoint):
            rest = argv[1:]
            if not rest or rest[0].startswith("-") or not image.has(rest[0]):
                rest = ["curl", *rest]
            argv = rest  # entrypoint.sh ends in `exec "$@"`
        return argv
    return command + args


@dataclass
class Root:
    """The images' programs on this machine: one directory per image, holding a link for
    each program the image has, named by its path in the image."""

    base: Path
    _made: dict[str, Path] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path_for(self, image: Image) -> str:
        """The image's PATH, as directories of this machine."""
        root = self._root(image)
        return ":".join(str(root) + d for d in image.path.split(":"))

    def program(self, image: Image, path: str) -> str:
        """This machine's file that plays `path` of the image."""
        return str(self._root(image)) + path

    def _root(self, image: Image) -> Path:
        key = hashlib.sha256(repr(sorted(image.programs.items())).encode()).hexdigest()[:16]
        with self._lock:
            root = self._made.get(key)
            if root is not None:
                return root
            root = self.base / key
            for directory in image.path.split(":"):
                (root / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
            for path, name in image.programs.items():
                host = shutil.which(HOST_ALIASES.get(name, name)) or shutil.which(name)
                target = root / path.lstrip("/")
                if host and not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(host, target)
            self._made[key] = root
            return root
