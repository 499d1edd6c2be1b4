"""The probe's pure parts: what to curl for each egress service, the shell that curls them,
and what the output means. No I/O here; commands/probe.py runs it.

One exec per source pod runs every check: a POSIX sh script over its
positional arguments, four per check (id, URL, curl option, its value).
Target text only ever travels as arguments, never inside the script, so a
host name that would break a shell does no harm. The curls run several at a
time (--parallel), since a probe's time is mostly waiting on the network. For
each check the script prints curl's headers, status line data, exit code and
error, and the start of the body, between markers that carry a random nonce;
in a pod with a sidecar it also reads the sidecar's Istio metrics (Envoy
admin, always on 127.0.0.1:15000 in the pod) before and after each non-HTTP
check, one at a time, so that even TLS traffic, which carries no sidecar
headers, shows whether istio-proxy carried it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .model import TLS_PROTOCOLS, Target

HTTP_PROTOCOLS = ("http", "http2", "grpc")
ISTIO_METRICS = ("istio_requests_total", "istio_tcp_connections_opened_total")
PASSTHROUGH = "destination_service_name=.=PassthroughCluster"
SIDECAR_REQUEST_HEADERS = ("x-envoy-decorator-operation", "x-envoy-peer-metadata-id",
                           "x-envoy-peer-metadata", "x-b3-traceid", "x-envoy-attempt-count")
SIDECAR_RESPONSE_HEADERS = ("x-envoy-upstream-service-time",)
MTLS_TEXT = "upstream connect error or disconnect/reset before headers"
BODY_LIMIT = 16384  # bytes of each answer's body the script prints
ERROR_LIMIT = 2048  # bytes of curl's error text
PARALLEL = 8  # curls at once in one source pod
MAX_PARALLEL = 64

# $1 timeout, $2 nonce, $3 how many curls at once, then id url option value ...; option "-"
# means none. Checks run side by side through a pool of slots (a FIFO holding one token per
# free slot), each into its own file, printed when all are done. Checks of non-HTTP URLs from a
# pod with a sidecar run afterwards one at a time, each between two readings of the sidecar's
# metrics, which other traffic would blur; HTTP answers carry the sidecar's headers instead.
SCRIPT = r'''
timeout=$1; nonce=$2; parallel=$3; shift 3
dir=$(mktemp -d 2>/dev/null) || { dir="/tmp/kubectl-egress.$$"; mkdir -p "$dir" || exit 1; }
trap 'rm -rf "$dir"' EXIT
admin=0
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:15000/ready" 2>/dev/null; then admin=1; fi
if [ "$parallel" -gt 1 ] && mkfifo "$dir/slots" 2>/dev/null && exec 3<>"$dir/slots"; then
  i=0; while [ "$i" -lt "$parallel" ]; do echo >&3; i=$((i + 1)); done
else
  parallel=1
fi
stats() {
  echo "@@$nonce stats $1"
  curl -s --max-time 2 "http://127.0.0.1:15000/stats?filter=istio_" 2>/dev/null
}
check() {
  echo "@@$nonce begin $1"
  if [ "$3" = "-" ]; then
    curl -sS -D - -o "$dir/$1.body" --max-time "$timeout" -w "\n@@$nonce result $1 %{http_code} %{time_total} %{remote_ip} %{remote_port}\n" "$2" 2>"$dir/$1.err"
  else
    curl -sS -D - -o "$dir/$1.body" --max-time "$timeout" "$3" "$4" -w "\n@@$nonce result $1 %{http_code} %{time_total} %{remote_ip} %{remote_port}\n" "$2" 2>"$dir/$1.err"
  fi
  echo "@@$nonce exit $1 $?"
  echo "@@$nonce error $1"
  if [ -s "$dir/$1.err" ]; then head -c @ERROR_LIMIT@ "$dir/$1.err"; fi
  echo "@@$nonce body $1"
  if [ -s "$dir/$1.body" ]; then head -c @BODY_LIMIT@ "$dir/$1.body"; fi
  echo
  echo "@@$nonce end $1"
  rm -f "$dir/$1.body" "$dir/$1.err"
}
# first pass: every check that needs no metrics, side by side
n=0; outputs=""
for arg in "$@"; do
  case $n in
    0) id=$arg ;; 1) url=$arg ;; 2) opt=$arg ;;
    3) case "$admin:$url" in
         1:http://*|0:*)
           if [ "$parallel" = 1 ]; then
             check "$id" "$url" "$opt" "$arg"
           else
             read -r _ <&3
             { check "$id" "$url" "$opt" "$arg" > "$dir/$id.out" 2>&1; echo >&3; } &
             outputs="$outputs $dir/$id.out"
           fi ;;
       esac ;;
  esac
  n=$(( (n + 1) % 4 ))
done
wait
if [ -n "$outputs" ]; then cat $outputs; fi
# second pass, through the sidecar only: the others, one at a time between metric readings
[ "$admin" = 1 ] || exit 0
n=0
for arg in "$@"; do
  case $n in
    0) id=$arg ;; 1) url=$arg ;; 2) opt=$arg ;;
    3) case "$url" in
         http://*) ;;
         *) stats "before $id"; check "$id" "$url" "$opt" "$arg"; stats "after $id" ;;
       esac ;;
  esac
  n=$(( (n + 1) % 4 ))
done
'''.replace("@BODY_LIMIT@", str(BODY_LIMIT)).replace("@ERROR_LIMIT@", str(ERROR_LIMIT))


@dataclass(frozen=True)
class Check:
    """One curl from one source to one egress service."""

    id: str
    service: str
    namespace: str
    url: str
    option: str = "-"  # --connect-to / --resolve, or "-"
    value: str = "-"
    tls: bool = False
    mesh_host: str = ""  # the service host Istio would report (destination_service)
    note: str = ""  # a known problem with the check itself (no host recorded, ...)

    def args(self) -> list[str]:
        return [self.id, self.url, self.option, self.value]


def _port(port: int, default: int) -> str:
    return "" if port == default else f":{port}"


def _bracket(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def check_for(index: int, target: Target, cluster_ip: str, path: str, alias_host: str = "") -> Check:
    """The curl for one egress service, as the seed task does it by hand.

    HTTP ports: http://NAME.NS.svc.cluster.local[:port]<path>. TLS ports:
    https://HOST/ reached through the service: --connect-to for an
    ExternalName, --resolve HOST:PORT:CLUSTER-IP for endpoints.
    """
    fqdn = target.fqdn
    cluster = alias_host or fqdn  # the mesh host the sidecar would match
    ident = str(index)
    if target.protocol in TLS_PROTOCOLS:
        if target.external_name:
            host = target.host
            return Check(ident, target.name, target.namespace, f"https://{host}{_port(target.port, 443)}/",
                         "--connect-to", f"{host}:{target.port}:{fqdn}:{target.port}", True, cluster)
        if target.host and cluster_ip:
            return Check(ident, target.name, target.namespace,
                         f"https://{target.host}{_port(target.port, 443)}/", "--resolve",
                         f"{target.host}:{target.port}:{_bracket(cluster_ip)}", True, cluster)
        return Check(ident, target.name, target.namespace, f"https://{fqdn}{_port(target.port, 443)}/",
                     tls=True, mesh_host=cluster,
                     note="no --host was recorded, so the certificate cannot match; record it with "
                          "kubectl egress endpoints ... --host HOST")
    if target.protocol == "tcp":
        return Check(ident, target.name, target.namespace, f"telnet://{fqdn}:{target.port}",
                     mesh_host=cluster)
    return Check(ident, target.name, target.namespace, f"http://{fqdn}{_port(target.port, 80)}{path}",
                 mesh_host=cluster)


def command(checks: list[Check], timeout: float, nonce: str, parallel: int = PARALLEL) -> list[str]:
    """The exec argv: sh -c SCRIPT, with every target as positional arguments."""
    args = ["sh", "-c", SCRIPT, "kubectl-egress-probe", f"{timeout:g}", nonce, str(parallel)]
    for check in checks:
        args.extend(check.args())
    return args


@dataclass
class Outcome:
    """What curl reported for one check."""

    exit: int = -1
    code: int = 0
    time: float = 0.0
    remote: str = ""
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    status_line: str = ""
    body: str = ""
    stats_before: dict[str, int] = field(default_factory=dict)
    stats_after: dict[str, int] = field(default_factory=dict)
    ran: bool = False


def _stats(text: str) -> dict[str, int]:
    """Istio's request and TCP connection counters from Envoy's /stats text."""
    out = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(":")
        if value.strip().isdigit() and any(metric in name for metric in ISTIO_METRICS):
            out[name.strip()] = int(value)
    return out


def parse(output: str, nonce: str) -> dict[str, Outcome]:
    """Split the script's output into one Outcome per check id."""
    marker = re.compile(rf"^@@{re.escape(nonce)} (\w+) (.*)$")
    outcomes: dict[str, Outcome] = {}
    section, current, buffer = "", None, []

    def flush() -> None:
        if current is None:
            return
        text = "\n".join(buffer)
        if section == "begin":
            current.status_line, current.headers = _headers(text)
        elif section == "error":
            current.error = text.strip()
        elif section == "body":
            current.body = text
        elif section in ("stats-before", "stats-after"):
            stats = _stats(text)
            if section == "stats-before":
                current.stats_before = stats
            else:
                current.stats_after = stats

    for line in output.splitlines():
        match = marker.match(line)
        if not match:
            buffer.append(line)
            continue
        flush()
        buffer = []
        kind, rest = match.group(1), match.group(2)
        ident = rest.split(" ", 1)[0]
        if kind == "stats":
            when, _, ident = rest.partition(" ")
            current = outcomes.setdefault(ident, Outcome())
            section = f"stats-{when}"
            continue
        current = outcomes.setdefault(ident, Outcome())
        section = kind
        if kind == "begin":
            current.ran = True
        elif kind == "result":
            fields = rest.split(" ")
            try:
                current.code = int(fields[1])
                current.time = float(fields[2])
            except (IndexError, ValueError):
                pass
            ip, port = (fields[3] if len(fields) > 3 else ""), (fields[4] if len(fields) > 4 else "")
            current.remote = f"{_bracket(ip)}:{port}" if ip else ""
            section = ""
        elif kind == "exit":
            try:
                current.exit = int(rest.split(" ")[1])
            except (IndexError, ValueError):
                pass
            section = ""
        elif kind == "end":
            section = ""
    flush()
    return outcomes


def _headers(text: str) -> tuple[str, dict[str, str]]:
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    status = next((line for line in reversed(lines) if line.startswith("HTTP/")), "")
    headers: dict[str, str] = {}
    for line in lines:
        if ":" in line and not line.startswith("HTTP/"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


def echoed_headers(body: str) -> dict[str, str]:
    """Request headers an httpbin-style /headers echo sent back, lower-cased."""
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    headers = data.get("headers") if isinstance(data, dict) else None
    if not isinstance(headers, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def counted(outcome: Outcome) -> list[str]:
    """The sidecar's metric series that grew during this check."""
    return [name for name, value in outcome.stats_after.items() if value > outcome.stats_before.get(name, 0)]


def sidecar_seen(outcome: Outcome) -> bool:
    """Evidence that an Istio sidecar carried the request: its headers, or its metrics."""
    if outcome.headers.get("server", "").lower() == "envoy":
        return True
    if any(h in outcome.headers for h in SIDECAR_RESPONSE_HEADERS):
        return True
    echoed = echoed_headers(outcome.body)
    if any(h in echoed for h in SIDECAR_REQUEST_HEADERS):
        return True
    return bool(counted(outcome))


def passthrough(outcome: Outcome) -> bool:
    """The sidecar sent it on without matching a service it knows (PassthroughCluster).

    HTTP: its headers without the route decorator (only a matched route sets
    X-Envoy-Decorator-Operation); other traffic: only PassthroughCluster metrics grew.
    """
    echoed = echoed_headers(outcome.body)
    if "x-envoy-peer-metadata-id" in echoed:
        return "x-envoy-decorator-operation" not in echoed
    grown = counted(outcome)
    return bool(grown) and all(PASSTHROUGH in name for name in grown)


def ok(outcome: Outcome, check: Check) -> bool:
    if check.url.startswith("telnet://"):
        return outcome.exit in (0, 28) and bool(outcome.remote) and "refused" not in outcome.error.lower()
    return outcome.exit == 0 and 200 <= outcome.code < 400


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


@dataclass(frozen=True)
class Source:
    """A pod the probe curls from."""

    namespace: str
    pod: str
    container: str
    sidecar: bool
    mesh: bool  # chosen as the mesh source (a sidecar is expected)

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.pod}"


def diagnose(check: Check, outcome: Outcome, target: Target, source: Source, timeout: float) -> str:
    """A one-line hint for a failed (or suspicious) check, with the command that fixes it."""
    error = outcome.error.lower()
    body = outcome.body
    fix_mtls = command_line(target, ("tls_mode",), tls_mode="DISABLE")
    if not outcome.ran:
        return "the probe did not run this check (the exec ended early)"
    if outcome.code == 503 and MTLS_TEXT in body and source.sidecar:
        return ("the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no "
                f"DestinationRule with a non-mTLS mode applies to {check.mesh_host}; "
                f"fix: {fix_mtls}")
    if outcome.exit in (35, 56) and source.sidecar and check.tls and \
            ("reset" in error or "ssl_error_syscall" in error or "unexpected eof" in error):
        return ("the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host "
                f"(DestinationRule missing or in mode ISTIO_MUTUAL); fix: {fix_mtls}")
    if outcome.exit == 35 and ("wrong version number" in error or "unknown protocol" in error):
        other = "http" if check.tls else "tls"
        return (f"TLS and plain traffic are mixed on port {target.port}: the port is named "
                f"{target.protocol!r}, which looks wrong for this service; fix: "
                f"{command_line(target, ('protocol',), protocol=other)}")
    if outcome.code == 400 and "plain http request was sent to https port" in body.lower():
        return (f"plain HTTP reached a TLS port: name the port for TLS; fix: "
                f"{command_line(target, ('protocol',), protocol='https')}")
    if outcome.exit == 6:
        name = check.url.split("://", 1)[1].split("/", 1)[0].split(":")[0]
        if target.external_name:
            return (f"DNS: {name} does not resolve in the pod; the ExternalName target "
                    f"{target.host!r} must resolve in the cluster's DNS")
        return f"DNS: {name} does not resolve in the pod; is the Service there? (kubectl egress get {target.name})"
    if outcome.exit == 7:
        where = outcome.remote or check.url.split("://", 1)[1].split("/", 1)[0]
        if not target.external_name:
            return (f"connection refused ({where}): the Service has no ready endpoint on port "
                    f"{target.port}, or the external service does not listen there; check the IPs and --port")
        return (f"connection refused ({where}): {target.host} does not listen on port {target.port}; "
                "check --port")
    if outcome.exit == 28:
        return (f"no answer within --timeout={timeout:g}s: an egress firewall, a NetworkPolicy or Istio's "
                "REGISTRY_ONLY outbound policy may block it, or the external host is down")
    if outcome.exit == 60 or "ssl certificate problem" in error or "certificate" in error and "match" in error:
        return check.note or (f"the certificate does not match {check.url.split('://', 1)[1].split('/')[0]}: "
                              "check the host name (--host)")
    if check.note:
        return check.note
    if source.mesh and not source.sidecar:
        return (f"the source pod {source.label} has no istio-proxy sidecar: label its namespace "
                f"(kubectl label namespace {source.namespace} istio-injection=enabled) and restart it")
    if outcome.exit != 0:
        return f"curl failed (exit {outcome.exit}): {outcome.error.splitlines()[0] if outcome.error else 'no detail'}"
    if outcome.code >= 400:
        return f"the external service answered {outcome.code}"
    if source.mesh and source.sidecar and not sidecar_seen(outcome):
        return ("a sidecar was expected but none of its headers or counters were seen: the traffic "
                "bypassed istio-proxy (excluded ports or IP ranges?)")
    if source.sidecar and passthrough(outcome):
        return (f"the sidecar passed it through without matching {check.mesh_host}: Istio does not "
                "know this service on that port (port name? ServiceEntry?)")
    return ""
