"""Istio's outbound capture in a pod with a sidecar: which connections go to Envoy, which bypass it.

The rules. Without Istio CNI, istio-init runs istio-iptables with the arguments the injection
template renders from the pod's annotations (istio-discovery files/injection-template.yaml:
`-u 1337`, `-i` traffic.sidecar.istio.io/includeOutboundIPRanges (default `*`), `-x`
excludeOutboundIPRanges (default ""), `-q` includeOutboundPorts and `-o` excludeOutboundPorts
when set); `-g` defaults to the `-u` value (tools/istio-iptables/pkg/cmd/root.go: "For TPROXY as
its uid and gid are same"). With Istio CNI (istio-validation instead of istio-init), the CNI
plugin reads the same annotations itself, with its own defaults, and takes the proxy's user
from istio-proxy's runAsUser/runAsGroup, 1337 when unset (cni/pkg/plugin/sidecar_redirect.go
NewRedirect: excludeOutboundPorts defaults to the status port 15020). A pod with istio-proxy
and neither init container is read the CNI way.

How a new outbound TCP connection meets them: the nat table's ISTIO_OUTPUT chain, in the order
istio-iptables writes it (tools/istio-iptables/pkg/capture/run.go, Run):

1. `-p tcp --dport P -j RETURN` for each excluded outbound port;
2. `-m owner --uid-owner UID -j RETURN` for each proxy UID (Envoy's own upstream traffic);
3. `-m owner --gid-owner GID -j RETURN` for each proxy GID;
4. `-d 127.0.0.1/32 -j RETURN`, then `-d CIDR -j RETURN` for each excluded range;
5. `-p tcp --dport P -j ISTIO_REDIRECT` for each included outbound port;
6. `-j ISTIO_REDIRECT` when the included ranges are `*`, else `-d CIDR -j ISTIO_REDIRECT` each;

and a connection that falls off the chain is not redirected. The rules for loopback traffic
(`-o lo`) concern the pod talking to itself, which no egress check does, and are left out.

The owner match (netfilter xt_owner) compares the credentials of the socket's file, those of
the process that made it: its fsuid and fsgid. This module reads them where the kernel shows
them: the socket's line in /proc/net/tcp{,6} of the pod's network namespace (its `uid` column
and inode), and for the gid the `Gid:` line (its fs field) of the process holding that inode.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

PROXY_UID = 1337  # the template's -u, and sidecar_redirect.go defaultNoRedirectUID/GID
STATUS_PORT = 15020  # sidecar_redirect.go defaultRedirectExcludePort
INIT_CONTAINERS = ("istio-init", "istio-validation")
ANNOTATION = "traffic.sidecar.istio.io/"


@dataclass(frozen=True)
class Rules:
    """The outbound part of ISTIO_OUTPUT for one pod."""

    proxy_uids: tuple[int, ...] = (PROXY_UID,)
    proxy_gids: tuple[int, ...] = (PROXY_UID,)
    exclude_ports: tuple[int, ...] = ()
    include_ports: tuple[int, ...] = ()
    exclude_ranges: tuple[str, ...] = ()
    include_ranges: tuple[str, ...] | None = None  # None: `*`, everything


def _split(text: str) -> list[str]:
    """config.Split: comma-separated, blanks dropped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _ports(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in _split(text) if p.isdigit())


def _ranges(text: str) -> tuple[str, ...]:
    """The CIDRs of a list; what does not parse is skipped, as separateV4V6 does."""
    out = []
    for part in _split(text):
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            continue
    return tuple(out)


def _include(text: str) -> tuple[str, ...] | None:
    return None if text.strip() == "*" else _ranges(text)


def _flags(args: list[str]) -> dict[str, str]:
    """istio-iptables' short flags as the template passes them: `-x ""` is a flag and its value."""
    values: dict[str, str] = {}
    for i, arg in enumerate(args):
        if arg in ("-u", "-g", "-o", "-q", "-i", "-x") and i + 1 < len(args):
            values[arg] = args[i + 1]
    return values


def rules_of(pod: dict) -> Rules:
    """The capture rules in force for a pod with a sidecar."""
    spec = pod.get("spec") or {}
    init = next((c for c in spec.get("initContainers") or [] if c.get("name") == "istio-init"), None)
    if init is not None:
        flags = _flags([str(a) for a in init.get("args") or []])
        uids = tuple(int(u) for u in _split(flags.get("-u", str(PROXY_UID))) if u.isdigit())
        gids = tuple(int(g) for g in _split(flags["-g"]) if g.isdigit()) if "-g" in flags else uids
        return Rules(uids, gids, _ports(flags.get("-o", "")), _ports(flags.get("-q", "")),
                     _ranges(flags.get("-x", "")), _include(flags.get("-i", "*")))
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    proxy = next((c for group in ("containers", "initContainers") for c in spec.get(group) or []
                  if c.get("name") == "istio-proxy"), {})
    sc = proxy.get("securityContext") or {}
    uid = sc.get("runAsUser") or PROXY_UID
    gid = sc.get("runAsGroup") or PROXY_UID
    return Rules((uid,), (gid,), _ports(notes.get(ANNOTATION + "excludeOutboundPorts", str(STATUS_PORT))),
                 _ports(notes.get(ANNOTATION + "includeOutboundPorts", "")),
                 _ranges(notes.get(ANNOTATION + "excludeOutboundIPRanges", "")),
                 _include(notes.get(ANNOTATION + "includeOutboundIPRanges", "*")))


def _within(ip: str, ranges: tuple[str, ...]) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address.version == net.version and address in net
               for net in (ipaddress.ip_network(r) for r in ranges))


def captured(rules: Rules, uid: int | None, gid: int | None, ip: str, port: int) -> bool:
    """Does ISTIO_OUTPUT send this connection to Envoy? (the chain above, first match wins)"""
    if port in rules.exclude_ports:
        return False
    if uid is not None and uid in rules.proxy_uids:
        return False
    if gid is not None and gid in rules.proxy_gids:
        return False
    if ip == "127.0.0.1" or _within(ip, rules.exclude_ranges):
        return False
    if port in rules.include_ports:
        return True
    return rules.include_ranges is None or _within(ip, rules.include_ranges)


# -- who made a socket ----------------------------------------------------------------------------
def _hex_address(text: str) -> tuple[str, int]:
    """`0100007F:1F90` -> ('127.0.0.1', 8080): /proc/net/tcp prints each 32-bit word of the
    address in host (little-endian) order, the port in big-endian hex."""
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def socket_owner(pid: int, local: tuple[str, int], remote: tuple[str, int]) -> tuple[int, int] | None:
    """(uid, inode) of the socket from local to remote in the network namespace of pid, from
    /proc/PID/net/tcp and tcp6 (columns: sl local_address rem_address st ... uid timeout inode)."""
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as table:
                lines = table.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            if _hex_address(fields[1]) == local and _hex_address(fields[2]) == remote:
                return int(fields[7]), int(fields[9])
    return None


def socket_fsgid(netns: str, inode: int) -> int | None:
    """The fsgid of a process of that network namespace holding the socket inode, from
    /proc/PID/status (`Gid: real effective saved fs`)."""
    wanted = f"socket:[{inode}]"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/net") != netns:
                continue
            fds = os.listdir(f"/proc/{entry}/fd")
            if not any(os.readlink(f"/proc/{entry}/fd/{fd}") == wanted for fd in fds):
                continue
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Gid:"):
                        return int(line.split()[4])
        except (OSError, ValueError, IndexError):
            continue
    return None
