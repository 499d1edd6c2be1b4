"""Who the probe runs as (pure): never a user that Istio's rules let bypass the sidecar.

istio-iptables returns, unredirected, every connection whose socket belongs to the proxy's UID or
GID (tools/istio-iptables/pkg/capture/run.go: `-m owner --uid-owner 1337 -j RETURN`, and the
same with `--gid-owner`), so a curl run as UID 1337 in a pod with a sidecar goes straight out
and checks the wrong path without a sign. Which UID and GID: istio-init's `-u` and `-g` (the
injection template renders `-u 1337`; `-g` defaults to `-u`, tools/istio-iptables/pkg/cmd/root.go),
or with Istio CNI (istio-validation) istio-proxy's runAsUser and runAsGroup, 1337 when unset
(cni/pkg/plugin/sidecar_redirect.go NewRedirect).

Ambient pods' in-pod rules exempt no user: only sockets ztunnel marks 0x3, and setting a mark
needs NET_ADMIN, which the probe's container drops with every other capability
(cni/pkg/iptables/testdata/default.golden: `-m mark ! --mark 0x3/0xfff -j REDIRECT`). The
traffic.sidecar.istio.io/excludeOutbound* annotations exempt destinations, not users: a probe
of an excluded port or range bypasses the sidecar as the application's own traffic does.

The check is made twice: from the pod's spec before anything runs (a container whose
securityContext names the proxy's user is not used, and the probe container is given another
user), and by the probe script itself, which reads its own fsuid and fsgid (the credentials the
owner match compares) from /proc/self/status before it curls anything, and stops when they are
exempt or when the container has no curl.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PROXY_UID = 1337
# Users a probe container may be given, first the one not exempt: the curl image's curl_user
# (100:101, curl/curl-container create_base_image.sh), then the conventional nonroot user 65532.
CANDIDATES = ((100, 101), (65532, 65532), (10001, 10001))


@dataclass(frozen=True)
class Exemption:
    """The users whose connections the pod's capture rules let bypass the sidecar."""

    uids: tuple[int, ...] = ()
    gids: tuple[int, ...] = ()
    origin: str = ""  # where they come from, for messages

    def exempts(self, uid: int | None, gid: int | None) -> str:
        """Why (uid, gid) bypasses the sidecar, or ''."""
        if uid is not None and uid in self.uids:
            return f"UID {uid} is the proxy's ({self.origin}), whose traffic bypasses the sidecar"
        if gid is not None and gid in self.gids:
            return f"GID {gid} is the proxy's ({self.origin}), whose traffic bypasses the sidecar"
        return ""


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip().isdigit())


def exemption(pod: dict, sidecar: bool) -> Exemption:
    """The proxy's user in a pod with a sidecar (none in other pods)."""
    if not sidecar:
        return Exemption()
    spec = pod.get("spec") or {}
    init = next((c for c in spec.get("initContainers") or [] if c.get("name") == "istio-init"), None)
    if init is not None:
        args = [str(a) for a in init.get("args") or []]
        flags = {a: args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-u", "-g")}
        uids = _numbers(flags.get("-u", str(PROXY_UID)))
        gids = _numbers(flags["-g"]) if "-g" in flags else uids
        return Exemption(uids, gids, f"istio-init -u {','.join(map(str, uids))}")
    proxy = next((c for group in ("containers", "initContainers") for c in spec.get(group) or []
                  if c.get("name") == "istio-proxy"), {})
    sc = proxy.get("securityContext") or {}
    uid, gid = sc.get("runAsUser") or PROXY_UID, sc.get("runAsGroup") or PROXY_UID
    return Exemption((uid,), (gid,), f"istio-proxy's user, as Istio CNI reads it: {uid}")


def declared_user(container: dict, pod: dict) -> tuple[int | None, int | None]:
    """runAsUser and runAsGroup as the kubelet merges them (the container's over the pod's);
    None where the image's USER decides, which only the container itself can tell."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}
    return sc.get("runAsUser", pod_sc.get("runAsUser")), sc.get("runAsGroup", pod_sc.get("runAsGroup"))


def probe_user(exempt: Exemption) -> tuple[int, int]:
    """The first candidate user the pod's rules do not exempt."""
    return next((uid, gid) for uid, gid in CANDIDATES if not exempt.exempts(uid, gid))


# $1 nonce, $2 exempt UIDs, $3 exempt GIDs (comma-separated, "-" for none); then the probe script's
# own arguments. It reads the Uid: and Gid: lines of /proc/self/status (real, effective, saved,
# filesystem), says who it is, and stops before any curl when that user is exempt or curl is missing.
GUARD = r'''
nonce=$1; uids=$2; gids=$3; shift 3
uid=; gid=
while read -r key real effective saved fs rest; do
  case $key in Uid:) uid=$fs ;; Gid:) gid=$fs ;; esac
done < /proc/self/status
echo "@@$nonce:user $uid $gid"
case ",$uids," in *",$uid,"*) echo "@@$nonce:exempt"; exit 0 ;; esac
case ",$gids," in *",$gid,"*) echo "@@$nonce:exempt"; exit 0 ;; esac
command -v curl >/dev/null 2>&1 || { echo "@@$nonce:nocurl"; exit 0; }
'''


def guarded(argv: list[str], nonce: str, exempt: Exemption) -> list[str]:
    """The probe's `sh -c SCRIPT NAME ARGS...` with the guard run first."""
    if argv[:2] != ["sh", "-c"] or len(argv) < 4:
        raise ValueError("not a sh -c command")
    listed = [",".join(map(str, ids)) or "-" for ids in (exempt.uids, exempt.gids)]
    return ["sh", "-c", GUARD + argv[2], argv[3], nonce, *listed, *argv[4:]]


@dataclass(frozen=True)
class Guard:
    """What the guard said: the user the script ran as, and whether it went on to probe."""

    uid: int | None = None
    gid: int | None = None
    exempt: bool = False
    no_curl: bool = False


def read_guard(output: str, nonce: str) -> Guard:
    user = re.search(rf"^@@{re.escape(nonce)}:user (\d*) (\d*)$", output, re.M)
    uid = int(user.group(1)) if user and user.group(1) else None
    gid = int(user.group(2)) if user and user.group(2) else None
    return Guard(uid, gid, f"@@{nonce}:exempt" in output, f"@@{nonce}:nocurl" in output)
