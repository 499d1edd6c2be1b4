"""Why a check failed, and the command that fixes it (pure).

A Hint keeps the two apart, so a terminal can print the command on a line of its own;
str(hint) is the one line `-o json` and `-o wide` carry: "MESSAGE; fix: COMMAND".
"""
from __future__ import annotations

from dataclasses import dataclass

from ..model import Target
from .checks import Check, Source
from .parse import Outcome
from .verdict import passthrough, sidecar_seen

MTLS_TEXT = "upstream connect error or disconnect/reset before headers"


@dataclass(frozen=True)
class Hint:
    """Why a check failed (or looks wrong), and the command that fixes it when there is one."""

    message: str = ""
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.message}; fix: {self.fix}" if self.fix else self.message

    def __bool__(self) -> bool:
        return bool(self.message)


NO_HINT = Hint()


def command_line(target: Target, explicit: tuple[str, ...] = (), **changes: object) -> str:
    """The kubectl egress command that makes target (with changes): non-default flags, and the
    flags named in explicit even at their default."""
    import dataclasses
    target = dataclasses.replace(target, **changes)  # type: ignore[arg-type]
    ns = f" -n {target.namespace}" if target.namespace != "default" else ""
    mode = "none" if target.tls_mode is None else target.tls_mode
    if target.external_name:
        parts = [f"kubectl egress externalname {target.name} {target.host}"]
        if target.port != 80:
            parts.append(f"--port {target.port}")
        if target.protocol != "http" or "protocol" in explicit:
            parts.append(f"--protocol {target.protocol}")
    else:
        parts = [f"kubectl egress endpoints {target.name} " + " ".join(str(ip) for ip in target.ips),
                 f"--port {target.port}"]
        if target.protocol != "tls" or "protocol" in explicit:
            parts.append(f"--protocol {target.protocol}")
        if target.host:
            parts.append(f"--host {target.host}")
        if target.endpoints_api != "endpointslice":
            parts.append(f"--api {target.endpoints_api}")
    if mode != "DISABLE" or "tls_mode" in explicit:
        parts.append(f"--tls-mode {mode}")
    return " ".join(parts) + ns


def diagnose(check: Check, outcome: Outcome, target: Target, source: Source, timeout: float) -> Hint:
    """Why a check failed (or looks suspicious), with the command that fixes it; NO_HINT when all is well."""
    error = outcome.error.lower()
    body = outcome.body
    fix_mtls = command_line(target, ("tls_mode",), tls_mode="DISABLE")
    if not outcome.ran:
        return Hint("the probe did not run this check (the exec ended early)")
    if outcome.code == 503 and MTLS_TEXT in body and source.sidecar:
        return Hint("the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no "
                    f"DestinationRule with a non-mTLS mode applies to {check.mesh_host}", fix_mtls)
    if outcome.exit in (35, 56) and source.sidecar and check.tls and \
            ("reset" in error or "ssl_error_syscall" in error or "unexpected eof" in error):
        return Hint("the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host "
                    "(DestinationRule missing or in mode ISTIO_MUTUAL)", fix_mtls)
    if outcome.exit == 35 and ("wrong version number" in error or "unknown protocol" in error):
        other = "http" if check.tls else "tls"
        return Hint(f"TLS and plain traffic are mixed on port {target.port}: the port is named "
                    f"{target.protocol!r}, which looks wrong for this service",
                    command_line(target, ("protocol",), protocol=other))
    if outcome.code == 400 and "plain http request was sent to https port" in body.lower():
        return Hint("plain HTTP reached a TLS port: name the port for TLS",
                    command_line(target, ("protocol",), protocol="https"))
    if outcome.exit == 6:
        name = check.url.split("://", 1)[1].split("/", 1)[0].split(":")[0]
        if target.external_name:
            return Hint(f"DNS: {name} does not resolve in the pod; the ExternalName target "
                        f"{target.host!r} must resolve in the cluster's DNS")
        return Hint(f"DNS: {name} does not resolve in the pod; is the Service there? "
                    f"(kubectl egress get {target.name})")
    if outcome.exit == 7:
        where = outcome.remote or check.url.split("://", 1)[1].split("/", 1)[0]
        if not target.external_name:
            return Hint(f"connection refused ({where}): the Service has no ready endpoint on port "
                        f"{target.port}, or the external service does not listen there; check the IPs and --port")
        return Hint(f"connection refused ({where}): {target.host} does not listen on port {target.port}; "
                    "check --port")
    if outcome.exit == 28:
        return Hint(f"no answer within --timeout={timeout:g}s: an egress firewall, a NetworkPolicy or Istio's "
                    "REGISTRY_ONLY outbound policy may block it, or the external host is down")
    if outcome.exit == 60 or "ssl certificate problem" in error or "certificate" in error and "match" in error:
        return Hint(check.note or (f"the certificate does not match {check.url.split('://', 1)[1].split('/')[0]}: "
                                   "check the host name (--host)"))
    if check.note:
        return Hint(check.note)
    if source.mesh and not source.sidecar:
        return Hint(f"the source pod {source.label} has no istio-proxy sidecar: label its namespace "
                    f"(kubectl label namespace {source.namespace} istio-injection=enabled) and restart it")
    if outcome.exit != 0:
        return Hint(f"curl failed (exit {outcome.exit}): "
                    f"{outcome.error.splitlines()[0] if outcome.error else 'no detail'}")
    if outcome.code >= 400:
        return Hint(f"the external service answered {outcome.code}")
    if source.mesh and source.sidecar and not sidecar_seen(outcome):
        return Hint("a sidecar was expected but none of its headers or counters were seen: the traffic "
                    "bypassed istio-proxy (excluded ports or IP ranges?)")
    if source.sidecar and passthrough(outcome):
        return Hint(f"the sidecar passed it through without matching {check.mesh_host}: Istio does not "
                    "know this service on that port (port name? ServiceEntry?)")
    return NO_HINT
