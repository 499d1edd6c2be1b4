"""Every message check can report, in one table, as istio's pkg/config/analysis/msg/messages.yaml.

Each row: code, name, level, template (Go's %s/%d verbs, which Python's % shares). The IST rows
are Istio's own, word for word, so that check and `istioctl analyze` say the same about the same
objects; the EG rows are the egress problems Istio has no message for. A code added is one row.
"""
from __future__ import annotations

from dataclasses import dataclass

from .snapshot import Finding


@dataclass(frozen=True)
class Message:
    code: str
    name: str
    level: str  # Info, Warning, Error (istio's msg levels)
    template: str


MESSAGES: dict[str, Message] = {m.code: m for m in (
    # istio pkg/config/analysis/msg/messages.yaml
    Message("IST0118", "PortNameIsNotUnderNamingConvention", "Info",
            "Port name %s (port: %d, targetPort: %s) doesn't follow the naming convention of Istio port."),
    Message("IST0128", "NoServerCertificateVerificationDestinationLevel", "Warning",
            "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to "
            "validate server identity for host: %s"),
    Message("IST0129", "NoServerCertificateVerificationPortLevel", "Warning",
            "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to "
            "validate server identity for host: %s at port %s"),
    Message("IST0150", "ExternalNameServiceTypeInvalidPortName", "Warning",
            "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched "
            "traffic for ports serving TCP protocol from being forwarded correctly"),
    # kubectl-egress's own
    Message("EG0001", "EndpointsPortNameMismatch", "Warning",
            "%s not among the Service's port names (%s): Istio pairs endpoints with Service ports by name, so "
            "this traffic has no endpoints (istio#18624)"),
    Message("EG0002", "EndpointsMirroredTwice", "Warning",
            "both v1 Endpoints %s and EndpointSlice %s: the EndpointSliceMirroring controller copies the "
            "Endpoints into a second slice, so every address is there twice; keep one, or label the "
            "Endpoints %s=true"),
    Message("EG0003", "ExternalNameIsAnIP", "Warning",
            "externalName %s is an IP address: the cluster's DNS answers a CNAME to a name that does not "
            "exist; a Service with endpoints gives an IP a name"),
    Message("EG0004", "DestinationRuleOnAlias", "Warning",
            "host %s is an ExternalName Service, which Istio %s treats as a DNS alias: the rule applies to "
            "nothing; rules for %s belong on that host, with a ServiceEntry"),
    Message("EG0005", "IstioMutualTLSToExternalHost", "Error",
            "the DestinationRule that applies to %s is %s, mode ISTIO_MUTUAL: callers with a sidecar send "
            "Istio mutual TLS to an external host that cannot speak it (HTTP 503 `upstream connect error ... "
            "connection termination`, or reset TLS handshakes)"),
    Message("EG0006", "KubectlCreatePortName", "Warning",
            "Port name %s is what `kubectl create service` gives; Istio cannot tell the protocol from it and "
            "treats the port as plain TCP or sniffs it"),
    Message("EG0007", "DoubleTLS", "Error",
            "double TLS: the rule originates TLS (mode SIMPLE) on port %s of %s, whose callers already speak TLS "
            "(port %s, protocol %s); the sidecar encrypts their TLS again and they fail with `wrong version "
            "number` (istio#36377). Turn origination off there, or let the app call http://%s/ "
            "(--tls-origination)"),
    Message("EG0008", "CertificateVerificationSkipped", "Warning",
            "insecureSkipVerify is true for %s: the sidecar accepts any certificate and ignores caCertificates %s, "
            "so whoever can intercept the connection can read and change it"),
    Message("EG0009", "BlockedByRegistryOnly", "Error",
            "%s have outbound traffic policy REGISTRY_ONLY, from the %s, and cannot reach %s: %s; their sidecars "
            "answer HTTP 502 from the BlackHoleCluster and reset TLS handshakes"),
    Message("EG0010", "NamespaceRevisionNotFound", "Warning",
            "the namespace is labelled %s, but Istio has no revision or revision tag %s (there are: %s): no "
            "injection webhook selects its pods, which start without a sidecar"),
)}


def finding(code: str, obj: str, *args: object, fix: str = "", detail: str = "") -> Finding:
    """A Finding with the table's level and its template filled in (detail: added after it)."""
    message = MESSAGES[code]
    text = message.template % args if args else message.template
    return Finding(message.level.lower(), code, obj, f"{text} {detail}" if detail else text, fix)
