"""The istio-proxy access log: one line per request or connection the sidecar carried.

Istio turns Envoy's access log on with mesh config `accessLogFile` (the
`istio` ConfigMap in istio-system, key `mesh`; `/dev/stdout` is what Istio's
docs and the demo profile set), in `accessLogEncoding` TEXT (default) or JSON,
with `accessLogFormat` or Istio's default format. The default is
`EnvoyTextLogFormat` (istio pilot/pkg/model/telemetry_logging.go; the 1.9
form with RESPONSE_CODE_DETAILS and CONNECTION_TERMINATION_DETAILS, and from
1.23 %UPSTREAM_CLUSTER_RAW% for %UPSTREAM_CLUSTER%, istio#52384, which prints
the same cluster name without an alt_stat_name); JSON is
`EnvoyJSONLogFormatIstio` with Envoy's format-dictionary rules (values typed,
unavailable ones null, keys sorted: envoy config/core/v3
substitution_format_string.proto). An example line from Istio's docs
(istio.io tasks/observability/logs/access-log):

    [2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-"
    "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80"
    outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default

Interface for the emulated proxies (sidecar.py): build an `Entry` where a
request or connection completes and hand it to `record` with the proxy's
revision and version. REGISTRY_ONLY's block_all route, a direct response that
picks no cluster:

    accesslog.record(cluster, pod_uid, accesslog.Entry(
        start=started, method="GET", path="/headers", protocol="HTTP/1.1", code=502,
        details="direct_response", route="block_all", authority="httpbin.org",
        user_agent="curl/8.5.0", request_id=rid,
        downstream_local="198.51.100.1:80", downstream_remote="10.244.0.10:40112"),
        revision="default", version=(1, 24))

`record` writes the line to the pod's istio-proxy log (logs.py) when the mesh
config asks for /dev/stdout (or /dev/stderr), in the mesh's encoding and
format, and does nothing when access logging is off, as Envoy then has no
access log configured. `None` is an unavailable value ("-" in text).
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster

PROXY_CONTAINER = "istio-proxy"

# pilot/pkg/model/telemetry_logging.go EnvoyTextLogFormat (Istio 1.9 to 1.22)
TEXT_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
    '%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% '
    '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% '
    '%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% '
    '%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n')
# the same from Istio 1.23 (istio#52384)
TEXT_FORMAT_RAW = TEXT_FORMAT.replace("%UPSTREAM_CLUSTER%", "%UPSTREAM_CLUSTER_RAW%")

# pilot/pkg/model/telemetry_logging.go EnvoyJSONLogFormatIstio
JSON_FORMAT = {
    "start_time": "%START_TIME%", "route_name": "%ROUTE_NAME%", "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "protocol": "%PROTOCOL%", "response_code": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%", "response_code_details": "%RESPONSE_CODE_DETAILS%",
    "connection_termination_details": "%CONNECTION_TERMINATION_DETAILS%", "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%", "duration": "%DURATION%",
    "upstream_service_time": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "x_forwarded_for": "%REQ(X-FORWARDED-FOR)%",
    "user_agent": "%REQ(USER-AGENT)%", "request_id": "%REQ(X-REQUEST-ID)%", "authority": "%REQ(:AUTHORITY)%",
    "upstream_host": "%UPSTREAM_HOST%", "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_local_address": "%UPSTREAM_LOCAL_ADDRESS%", "downstream_local_address": "%DOWNSTREAM_LOCAL_ADDRESS%",
    "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%", "requested_server_name": "%REQUESTED_SERVER_NAME%",
    "upstream_transport_failure_reason": "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
}

# Envoy response flags and details for what the emulated sidecar does
UPSTREAM_CONNECTION_TERMINATION = "UC"  # the upstream closed the connection (mTLS sent to a plain server)
UPSTREAM_CONNECTION_FAILURE = "UF"
UPSTREAM_RETRY_LIMIT_EXCEEDED = "URX"
NO_HEALTHY_UPSTREAM = "UH"
VIA_UPSTREAM = "via_upstream"


@dataclass
class Entry:
    """What one request (HTTP) or connection (TCP) left behind, as Envoy's command operators see it."""

    start: float = field(default_factory=time.time)
    method: str | None = None
    path: str | None = None
    protocol: str | None = None  # HTTP/1.1; None for TCP
    code: int = 0  # 0 for TCP
    flags: str | None = None  # RESPONSE_FLAGS, comma separated
    details: str | None = None  # RESPONSE_CODE_DETAILS
    termination: str | None = None  # CONNECTION_TERMINATION_DETAILS
    transport_failure: str | None = None  # UPSTREAM_TRANSPORT_FAILURE_REASON
    received: int = 0  # BYTES_RECEIVED (request body, or bytes from downstream)
    sent: int = 0  # BYTES_SENT
    duration_ms: int | None = None  # computed from start when None
    upstream_service_time: str | None = None
    forwarded_for: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    authority: str | None = None
    upstream_host: str | None = None
    cluster: str | None = None
    upstream_local: str | None = None
    downstream_local: str | None = None
    downstream_remote: str | None = None
    sni: str | None = None
    route: str | None = None

    def values(self) -> dict[str, object]:
        duration = self.duration_ms if self.duration_ms is not None else max(0, int((time.time() - self.start) * 1000))
        return {
            "START_TIME": start_time(self.start), "REQ(:METHOD)": self.method,
            "REQ(X-ENVOY-ORIGINAL-PATH?:PATH)": self.path, "PROTOCOL": self.protocol,
            "RESPONSE_CODE": self.code, "RESPONSE_FLAGS": self.flags or "-",
            "RESPONSE_CODE_DETAILS": self.details, "CONNECTION_TERMINATION_DETAILS": self.termination,
            "UPSTREAM_TRANSPORT_FAILURE_REASON": self.transport_failure, "BYTES_RECEIVED": self.received,
            "BYTES_SENT": self.sent, "DURATION": duration,
            "RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)": self.upstream_service_time,
            "REQ(X-FORWARDED-FOR)": self.forwarded_for, "REQ(USER-AGENT)": self.user_agent,
            "REQ(X-REQUEST-ID)": self.request_id, "REQ(:AUTHORITY)": self.authority,
            "UPSTREAM_HOST": self.upstream_host, "UPSTREAM_CLUSTER": self.cluster,
            "UPSTREAM_CLUSTER_RAW": self.cluster, "UPSTREAM_LOCAL_ADDRESS": self.upstream_local,
            "DOWNSTREAM_LOCAL_ADDRESS": self.downstream_local,
            "DOWNSTREAM_REMOTE_ADDRESS": self.downstream_remote, "REQUESTED_SERVER_NAME": self.sni,
            "ROUTE_NAME": self.route,
        }


def start_time(ts: float) -> str:
    """%START_TIME% with Envoy's default format, %Y-%m-%dT%H:%M:%E3SZ."""
    millis = int(round(ts * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"


_OPERATOR = re.compile(r"%([A-Z_]+(?:\([^)]*\))?)%")


def format_text(entry: Entry, fmt: str = TEXT_FORMAT) -> str:
    """A format string: each %OPERATOR% replaced, unavailable values as "-"."""
    values = entry.values()

    def one(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "-" if value is None or value == "" else str(value)

    return _OPERATOR.sub(one, fmt)


def format_json(entry: Entry, fmt: dict[str, str] | None = None) -> str:
    """A format dictionary: typed values, null when unavailable, keys sorted, one line."""
    values = entry.values()
    out: dict[str, object] = {}
    for key, template in (fmt or JSON_FORMAT).items():
        whole = _OPERATOR.fullmatch(template)
        if whole:
            value = values.get(whole.group(1))
            out[key] = None if value == "" or value == "-" else value
        else:
            out[key] = format_text(entry, template)
    return json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class Settings:
    """The mesh config's access log settings (meshConfig accessLogFile/Encoding/Format)."""

    file: str = ""
    encoding: str = "TEXT"
    format: str = ""


def settings(cluster: "Cluster", revision: str = "default") -> Settings:
    """Read from the mesh config of the proxy's revision (ConfigMap `istio`, or `istio-REV`, in
    istio-system, key `mesh`; istio.read_mesh_config); none: logging off."""
    from . import istio
    mesh = istio.read_mesh_config(cluster.store, revision)
    return Settings(str(mesh.get("accessLogFile") or ""), str(mesh.get("accessLogEncoding") or "TEXT").upper(),
                    str(mesh.get("accessLogFormat") or ""))


def render(entry: Entry, config: Settings, istio_version: tuple[int, int]) -> str:
    if config.encoding == "JSON":
        custom = None
        if config.format:
            try:
                custom = json.loads(config.format)
            except ValueError:
                custom = None  # Istio falls back to its default JSON format (telemetry_logging.go)
        return format_json(entry, custom if isinstance(custom, dict) else None)
    if config.format:
        fmt = config.format if config.format.endswith("\n") else config.format + "\n"
    else:
        fmt = TEXT_FORMAT_RAW if istio_version >= (1, 23) else TEXT_FORMAT
    return format_text(entry, fmt)


def record(cluster: "Cluster", pod_uid: str, entry: Entry, revision: str = "default",
           version: tuple[int, int] | None = None) -> None:
    """Write entry to the pod's istio-proxy log, if the mesh config of the proxy's revision logs
    to the proxy's stdout or stderr; version: the proxy's (its format's), else the cluster's."""
    config = settings(cluster, revision)
    if config.file not in ("/dev/stdout", "/dev/stderr"):
        return
    if version is None:
        major, minor = (int(x) for x in (cluster.istio_version or "1.20").split(".")[:2])
        version = (major, minor)
    line = render(entry, config, version)
    cluster.logs.write(pod_uid, PROXY_CONTAINER, line.encode(),
                       "stderr" if config.file == "/dev/stderr" else "stdout")
