"""The protocol Istio gives a Service port, rule for rule as Istio decides it (pure).

Transcribed from istio pkg/config/kube/conversion.go `ConvertProtocol` and
pkg/config/protocol/instance.go `Parse` (the same from Istio 1.20 to today):

- a UDP port is UDP;
- `appProtocol`, when set, replaces the port name; Kubernetes' standard names
  `kubernetes.io/h2c`, `kubernetes.io/ws` and `kubernetes.io/wss` are HTTP2, HTTP and HTTPS;
- a name starting with `grpc-web` (any case) is GRPC-Web;
- otherwise the name is cut at its first `-` and looked up, case-insensitively, among
  tcp, udp, grpc, grpc-web, http, http_proxy, http2, https, tls, mongo, redis, mysql;
- an unknown name on port 25, 53, 3306 or 27017 is TCP; elsewhere it is unsupported, and
  Istio sniffs the protocol.
"""
from __future__ import annotations

UNSUPPORTED = "UnsupportedProtocol"
# protocol.Parse: lower-case name -> protocol.Instance
PARSE = {"tcp": "TCP", "udp": "UDP", "grpc": "GRPC", "grpc-web": "GRPC-Web", "http": "HTTP",
         "http_proxy": "HTTP_PROXY", "http2": "HTTP2", "https": "HTTPS", "tls": "TLS", "mongo": "Mongo",
         "redis": "Redis", "mysql": "MySQL"}
# conversion.go: the AppProtocol names the Kubernetes Service API defines
KUBERNETES_APP_PROTOCOLS = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS"}
# conversion.go wellKnownPorts: SMTP, DNS, MySQL, MongoDB
WELL_KNOWN_PORTS = (25, 53, 3306, 27017)
HTTP = ("HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-Web")  # instance.go IsHTTP
TLS = ("HTTPS", "TLS")  # instance.go IsTLS


def convert_protocol(port: dict) -> str:
    """Istio's protocol.Instance for a Service port dict (`UnsupportedProtocol` when it sniffs)."""
    if port.get("protocol") == "UDP":
        return "UDP"
    name = port.get("name") or ""
    app = port.get("appProtocol")
    if app is not None:  # a *string in Go: set, even when empty
        name = app
        if name in KUBERNETES_APP_PROTOCOLS:
            return KUBERNETES_APP_PROTOCOLS[name]
    if name[:8].lower() == "grpc-web":
        return "GRPC-Web"
    found = PARSE.get(name.split("-", 1)[0].lower(), UNSUPPORTED)
    if found == UNSUPPORTED and port.get("port") in WELL_KNOWN_PORTS:
        return "TCP"
    return found


def protocol_of(port: dict) -> str:
    """Istio's protocol in lower case (`http`, `tls`, `grpc-web`, ...), or "" when it sniffs."""
    found = convert_protocol(port)
    return "" if found == UNSUPPORTED else found.lower()
