"""Why a check failed, and the command that fixes it (pure).

A Hint keeps the two apart, so a terminal can print the command on a line of its own;
str(hint) is the one line `-o json` and `-o wide` carry: "MESSAGE; fix: COMMAND".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import PROTOCOLS, Target
from .checks import HTTP_PROTOCOLS, Check, Source
from .parse import Outcome
from .verdict import counted, held_open, ok, passthrough, proxy_closed, redirect_to_https, sidecar_seen

if TYPE_CHECKING:  # pragma: no cover
    from ..mesh import PodFacts

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


def recipe(target: Target) -> str:
    """The recipe's command for target as it should be: never Istio mutual TLS to an external host
    (read back, tls_mode is the rule that applies, which may be the mesh-wide ISTIO_MUTUAL one)."""
    return command_line(target, tls_mode="DISABLE") if target.tls_mode == "ISTIO_MUTUAL" else command_line(target)


@dataclass(frozen=True)
class Context:
    """What the mesh says about a check beyond curl's outcome (from MeshFacts; the defaults: unknown)."""

    pod: PodFacts | None = None  # the source pod's data plane, revision and outbound policy
    ambient_installed: bool = False  # ztunnel runs, so a pod outside the mesh can join it in ambient mode
    entry: bool | None = None  # a ServiceEntry names the service's external host (None: not read)
    restart: str = ""  # the command that replaces the source pod


def command_line(target: Target, explicit: tuple[str, ...] = (), **changes: object) -> str:
    """The kubectl egress command that makes target (with changes): non-default flags, and the
    flags named in explicit even at their default."""
    import dataclasses
    target = dataclasses.replace(target, **changes)  # type: ignore[arg-type]
    ns = f" -n {target.namespace}" if target.namespace != "default" else ""
    mode = "none" if target.tls_mode is None else target.tls_mode
    if target.is_entry:
        parts = [f"kubectl egress serviceentry {target.name} " + " ".join(target.hosts or (target.host,))]
        if target.port != 80:
            parts.append(f"--port {target.port}")
        if target.origination is None and (target.protocol != "http" or "protocol" in explicit):
            parts.append(f"--protocol {target.protocol}")
        parts.extend(target.flags)
        return " ".join(parts + origination_flags(target)) + ns
    if target.protocol not in PROTOCOLS:  # Istio's other names, as the recipes' --protocol takes them
        target = dataclasses.replace(target, protocol="http" if target.protocol in HTTP_PROTOCOLS else "tcp")
    if target.external_name:
        parts = [f"kubectl egress externalname {target.name} {target.host}"]
        if target.port != 80:
            parts.append(f"--port {target.port}")
        if target.protocol != "http" or "protocol" in explicit:
            parts.append(f"--protocol {target.protocol}")
    else:
        parts = [f"kubectl egress endpoints {target.name} " + (" ".join(str(ip) for ip in target.ips) or "IP"),
                 f"--port {target.port}"]
        if target.protocol != "tls" or "protocol" in explicit:
            parts.append(f"--protocol {target.protocol}")
        if target.host:
            parts.append(f"--host {target.host}")
        if target.endpoints_api != "endpointslice":
            parts.append(f"--api {target.endpoints_api}")
    if target.origination is not None:
        parts.extend(origination_flags(target))
    elif mode != "DISABLE" or "tls_mode" in explicit:
        parts.append(f"--tls-mode {mode}")
    if not target.managed:  # made by hand, Helm, ...: the recipe takes it over only when told
        parts.append("--force")
    return " ".join(parts) + ns


def origination_flags(target: Target) -> list[str]:
    if target.origination is None:
        return []
    flags = ["--tls-origination"]
    if target.origination.target_port != 443:
        flags.append(f"--target-port {target.origination.target_port}")
    if target.origination.verify == "skip":
        flags.append("--insecure-skip-verify")
    return flags


def origination_hint(check: Check, outcome: Outcome, target: Target, source: Source) -> Hint:
    """TLS origination's failures (check.originates: the sidecar should speak TLS to that host:port)."""
    body, host = outcome.body, check.originates.rsplit(":", 1)[0]
    redirect = redirect_to_https(outcome)
    if not source.sidecar:
        if redirect:
            return Hint(f"no sidecar here, so nothing originates TLS: plain HTTP reached {host}, which redirects "
                        f"({outcome.code}) to {redirect}; callers outside the mesh must speak HTTPS themselves")
        return NO_HINT
    if redirect:
        return Hint(f"the sidecar did not originate TLS: {host} answered plain HTTP with {outcome.code} to "
                    f"{redirect}; no DestinationRule in mode SIMPLE applies to {check.mesh_host} on this port",
                    command_line(target))
    if outcome.code == 503 and "CERTIFICATE_VERIFY_FAILED" in body and "verify SAN list" in body:
        sent = check.url.split("://", 1)[1].split("/")[0].split(":")[0]
        return Hint(f"missing SNI: the DestinationRule gives no sni, so the sidecar (Istio 1.21+) sent the Host "
                    f"header, {sent}, as SNI and required {host}'s certificate to name it; set sni: {host}",
                    command_line(target))
    if outcome.code == 503 and "CERTIFICATE_VERIFY_FAILED" in body:
        detail = body.split("CERTIFICATE_VERIFY_FAILED:", 1)[1].split(":TLS_error_end")[0]
        return Hint(f"the sidecar could not verify {host}'s certificate ({detail}); if you trust it anyway, "
                    f"{command_line(target)} --insecure-skip-verify turns the check off, and anyone on the path "
                    "can then read and change the traffic")
    if outcome.code == 503 and "WRONG_VERSION_NUMBER" in body:
        return Hint(f"the sidecar spoke TLS to a port of {host} that answers plain HTTP: the ServiceEntry must "
                    f"send this port on to {check.originates} (targetPort)", command_line(target))
    if outcome.code == 503 and body.rstrip().endswith("remote connection failure"):
        return Hint("the sidecar had no CA certificates to verify with: caCertificates names a file the proxy "
                    "does not have, or credentialName a secret it cannot read", command_line(target))
    if outcome.code == 400 and "plain http request was sent to https port" in body.lower():
        return Hint(f"the sidecar sent plain HTTP to {check.originates}: a credentialName without a "
                    "workloadSelector gives sidecars no TLS settings at all", command_line(target))
    return NO_HINT
def handshake_note(check: Check, outcome: Outcome) -> Hint:
    """What a handshake-only check showed, whom the certificate names, and the command that checks fully."""
    names = outcome.cert_names
    named = f"its certificate names {', '.join(names)}" if names else \
        "its certificate's names could not be read (curl 7.88 or later prints them)"
    example = next((n for n in names if "*" not in n), "HOST")
    return Hint(f"{check.note}: {named}; for a full HTTPS check give the host clients use",
                f"kubectl egress probe {check.service} --host {check.service}={example}"
                + (f" -n {check.namespace}" if check.namespace != "default" else ""))


BLACKHOLE = "BlackHoleCluster"


def registry_blocked(check: Check, outcome: Outcome, target: Target, source: Source, ctx: Context) -> Hint:
    """REGISTRY_ONLY: the sidecar sent the request to the BlackHoleCluster, because the host is not in
    its registry. Evidence: Envoy's 502 without a body (the block_all route) or a reset connection,
    when the host is known to be missing; or BlackHoleCluster in the sidecar's own metrics (istio#28994,
    istio#43065). Fix: the ServiceEntry (the recipe writes it), or the Sidecar's egress hosts."""
    policy = ctx.pod.policy if ctx.pod is not None else None
    if not source.sidecar or policy is None or not policy.registry_only:
        return NO_HINT
    blackhole = any(BLACKHOLE in name for name in counted(outcome))
    answered = (outcome.code == 502 and not outcome.body.strip()) or outcome.exit in (35, 52, 56)
    alias = ctx.pod.revision.alias if ctx.pod is not None and ctx.pod.revision is not None else True
    if target.external_name and (alias or check.tls):  # the external host is what the sidecar must know
        host, kind = target.host, "a ServiceEntry"
        missing = ctx.entry is False
    else:  # the Service itself is the registry entry
        host, kind, missing = target.fqdn, "the Service", False
    hidden = not missing and not policy.sees(target.namespace, host)
    if not (blackhole or (answered and (missing or hidden))):
        return NO_HINT
    seen = "HTTP 502 from the BlackHoleCluster" if outcome.code == 502 else (
        "a reset connection" + (", counted for the BlackHoleCluster" if blackhole else ""))
    head = f"the sidecar blocked it ({seen}): outbound traffic policy REGISTRY_ONLY, from the {policy.source}, and "
    if missing:
        return Hint(head + f"no ServiceEntry puts {host} in its registry", recipe(target))
    if hidden:
        ns, name = policy.sidecar_name.split("/")
        return Hint(head + f"the egress hosts of Sidecar {policy.sidecar_name} do not include "
                    f"{target.namespace}/{host} ({kind} is there, but hidden): add \"{target.namespace}/{host}\" "
                    "to them", f"kubectl edit sidecar {name} -n {ns}")
    return Hint(head + f"Istio matches no service for {host} on port {target.port} (is the port's protocol right?)")


def stale_revision(target: Target, ctx: Context, failed: bool) -> Hint:
    """The source pod was injected by another revision than its namespace now asks for (a canary
    upgrade not yet rolled out): what the row shows is the old control plane's behaviour."""
    pod = ctx.pod
    if pod is None or not pod.stale_revision or pod.revision is None or pod.asked is None:
        return NO_HINT
    differ = pod.revision.alias != pod.asked.alias and target.external_name
    if failed and not differ:
        return NO_HINT  # the failure's own hint says more
    old, new = pod.revision, pod.asked
    effect = (f"in {old.mode} mode, which needs other objects for an ExternalName Service than {new.mode} mode"
              if differ else "so this row shows the old control plane's behaviour")
    return Hint(f"the source pod runs revision {old.name} ({old.version or 'unknown version'}) but its namespace asks "
                f"for revision {new.name} ({new.version or 'unknown version'}): its sidecar follows {old.istiod} "
                f"{effect}, until the pod is replaced", ctx.restart)


def not_in_mesh(source: Source, ctx: Context) -> Hint:
    """The mesh source has neither a sidecar nor ztunnel: say how its namespace joins the mesh it asks
    for, and never tell a pod of an ambient namespace (or mesh) to take a sidecar."""
    if not source.mesh or source.sidecar or source.ambient:
        return NO_HINT
    pod = source.obj or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    asked = ctx.pod.namespace if ctx.pod is not None else None
    ns = source.namespace
    if asked is not None and asked.dataplane == "ambient":
        if labels.get("istio.io/dataplane-mode") == "none":
            return Hint(f"the source pod {source.label} opts out of ambient mode (label istio.io/dataplane-mode=none) "
                        f"though namespace {ns} is enrolled", f"kubectl label pod {source.pod} -n {ns} "
                        "istio.io/dataplane-mode-")
        return Hint(f"namespace {ns} is enrolled in ambient mode ({asked.label}), but ztunnel has not captured "
                    f"the source pod {source.label} (no ambient.istio.io/redirection annotation): is istio-cni-node "
                    "running on its node?")
    if asked is not None and asked.dataplane == "sidecar":
        if str(labels.get("sidecar.istio.io/inject", "")).lower() == "false":
            return Hint(f"the source pod {source.label} opts out of injection (label sidecar.istio.io/inject=false) "
                        f"though namespace {ns} asks for sidecars ({asked.label})")
        return Hint(f"the source pod {source.label} has no istio-proxy though namespace {ns} asks for sidecars "
                    f"({asked.label}): it started before, so replace it", ctx.restart)
    if ctx.ambient_installed:
        return Hint(f"the source pod {source.label} is not in the mesh: namespace {ns} is enrolled in neither "
                    "ambient mode nor sidecar injection; ambient mode needs no restart",
                    f"kubectl label namespace {ns} istio.io/dataplane-mode=ambient")
    return Hint(f"the source pod {source.label} has no istio-proxy sidecar: label its namespace "
                f"(kubectl label namespace {ns} istio-injection=enabled) and restart it")


def diagnose(check: Check, outcome: Outcome, target: Target, source: Source, timeout: float,
             ctx: Context = Context()) -> Hint:
    """Why a check failed (or looks suspicious), with the command that fixes it; NO_HINT when all is well."""
    error = outcome.error.lower()
    body = outcome.body
    fix_mtls = command_line(target, ("tls_mode",), tls_mode="DISABLE")
    if not outcome.ran:
        return Hint("the probe did not run this check (the exec ended early)")
    if check.originates:
        hint = origination_hint(check, outcome, target, source)
        if hint:
            return hint
    hint = stale_revision(target, ctx, True) if not ok(outcome, check, source.sidecar, source.ambient) else NO_HINT
    if hint:
        return hint
    if outcome.code == 503 and MTLS_TEXT in body and source.sidecar:
        return Hint("the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no "
                    f"DestinationRule with a non-mTLS mode applies to {check.mesh_host}", fix_mtls)
    hint = registry_blocked(check, outcome, target, source, ctx)
    if hint:
        return hint
    if (source.sidecar or source.ambient) and proxy_closed(outcome, check):
        where = f"{target.host or check.mesh_host}:{target.port}"
        if source.sidecar and target.tls_mode == "ISTIO_MUTUAL":
            return Hint(f"the sidecar accepted the connection and closed it empty (curl exit {outcome.exit}): it "
                        f"wraps the traffic in Istio mutual TLS (DestinationRule mode {target.tls_mode} for "
                        f"{check.mesh_host}), which {where} cannot speak", fix_mtls)
        proxy, log = ("the sidecar", "istio-proxy's access log says UF") if source.sidecar else \
            ("ztunnel", "ztunnel's log says why")
        return Hint(f"{proxy} accepted the connection and closed it empty (curl exit {outcome.exit}): it could "
                    f"not connect to {where}, which does not listen there or is blocked on the way ({log}); "
                    "check --port")
    if not target.external_name and not target.ips and outcome.exit not in (0, 6):
        return Hint(f"the Service has no endpoints (no EndpointSlice or Endpoints with its name), so nothing "
                    f"answers on port {target.port} (curl exit {outcome.exit}): give its IPs again",
                    recipe(target))
    if outcome.exit in (35, 56) and source.sidecar and check.tls and \
            ("reset" in error or "ssl_error_syscall" in error or "unexpected eof" in error):
        return Hint("the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host "
                    "(DestinationRule missing or in mode ISTIO_MUTUAL)", fix_mtls)
    if outcome.exit == 35 and "wrong version number" in error and check.tls and source.sidecar and \
            target.tls_mode == "SIMPLE":
        return Hint(f"double TLS: the DestinationRule originates TLS (mode SIMPLE) on port {target.port}, where the "
                    "app already speaks TLS, so the sidecar encrypts it again (istio#36377)",
                    command_line(target, ("tls_mode",), tls_mode="DISABLE"))
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
    if outcome.exit == 28 and not held_open(outcome, check):  # held open, a TCP check passed
        if outcome.code:  # a status line came back: the path is open, the body stopped mid-way
            return Hint(f"the external service answered {outcome.code}, then its body stalled: the rest did not "
                        f"arrive within --timeout={timeout:g}s (curl exit 28), so nothing blocks the connection; "
                        "the server, or a proxy on the path, stopped sending mid-answer")
        if not source.sidecar:  # ztunnel does not apply REGISTRY_ONLY (istio#54281), nor does a pod outside the mesh
            return Hint(f"no answer within --timeout={timeout:g}s: an egress firewall or a NetworkPolicy may block "
                        "it, or the external host is down")
        return Hint(f"no answer within --timeout={timeout:g}s: an egress firewall, a NetworkPolicy or Istio's "
                    "REGISTRY_ONLY outbound policy may block it, or the external host is down")
    if outcome.exit == 60 or "ssl certificate problem" in error or "certificate" in error and "match" in error:
        return Hint(check.note or (f"the certificate does not match {check.url.split('://', 1)[1].split('/')[0]}: "
                                   "check the host name (--host)"))
    if check.handshake and outcome.exit == 0:
        return handshake_note(check, outcome)
    if check.note:
        return Hint(check.note)
    hint = not_in_mesh(source, ctx)
    if hint:
        return hint
    if outcome.exit != 0 and not held_open(outcome, check):
        return Hint(f"curl failed (exit {outcome.exit}): "
                    f"{outcome.error.splitlines()[0] if outcome.error else 'no detail'}")
    if outcome.code >= 400:
        return Hint(f"the external service answered {outcome.code}")
    redirect = redirect_to_https(outcome) if check.url.startswith("http://") else ""
    if redirect:
        return Hint(f"{outcome.code} to {redirect}: the site wants HTTPS; callers must speak it, or "
                    "--tls-origination has their sidecar speak it for them")
    if source.mesh and source.sidecar and not sidecar_seen(outcome):
        return Hint("a sidecar was expected but none of its headers or counters were seen: the traffic "
                    "bypassed istio-proxy (excluded ports or IP ranges?)")
    if source.sidecar and passthrough(outcome):
        return Hint(f"the sidecar passed it through without matching {check.mesh_host}: Istio does not "
                    "know this service on that port (port name? ServiceEntry?)")
    return stale_revision(target, ctx, False)
