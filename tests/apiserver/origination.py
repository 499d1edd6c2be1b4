"""TLS origination by the emulated sidecar: Envoy's upstream TLS under a DestinationRule in mode SIMPLE.

What Istio makes of a rule's client TLS settings (istio pilot/pkg/networking/core/cluster_tls.go,
`buildUpstreamClusterTLSContext`, `constructUpstreamTLS`, `setAutoSniAndAutoSanValidation`; 1.20's
copy under core/v1alpha3), and what Envoy then does with it:

- *which settings*: the DestinationRule that applies to the host for the pod (meshrules.py);
  port-level settings for the port replace the rule-level `tls` (`MergeTrafficPolicy`);
- *credentialName* in a sidecar's rule without a `workloadSelector`: Istio builds no TLS at all
  (the "hack to avoid egress sds cluster config generation for sidecar"), so the sidecar sends
  plain text;
- *SNI*: `sni`, else, from Istio 1.21 (`ENABLE_AUTO_SNI` on by default, istio#48225), the
  request's Host header (Envoy's auto_sni); before 1.21, none;
- *trust*: `insecureSkipVerify` turns verification off; `caCertificates` names a file in the
  proxy's container (the proxyv2 image's OS bundle is /etc/ssl/certs/ca-certificates.crt, the
  first of pkg/security/security.go `GetOSRootFilePath`; here it holds the cluster CA, as the
  pods' bundle does); empty means the OS bundle from 1.21 (`VERIFY_CERTIFICATE_AT_CLIENT`,
  istio#48225, the only behaviour after istio#52599) and no verification before; a file the
  proxy does not have gives Envoy no secret (ssl_socket.cc `NotReadySslSocket`);
- *names*: `subjectAltNames` (or the ServiceEntry's) must match the certificate (Envoy's
  match_subject_alt_names, "SAN matcher"); with auto SNI and none given, the SNI must
  (auto_san_validation, "verify SAN list"); DNS names match as Envoy's `dnsNameMatch` does.

A failure is answered as Envoy answers it: 503 with its local reply, "upstream connect error or
disconnect/reset before headers. retried and the latest reset reason: remote connection failure,
transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:
CERTIFICATE_VERIFY_FAILED:verify cert failed: ...:TLS_error_end" (ssl_socket.cc `drainErrorQueue`
with the new failure format; default_validator.cc for the details; Istio's default route retries
connect failures, hence "retried"; "remote connection failure" since envoy#26750).
"""
from __future__ import annotations

import select
import socket
import ssl
from dataclasses import dataclass

OS_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
UPSTREAM_ERROR = "upstream connect error or disconnect/reset before headers. "
RETRIED = "retried and the latest reset reason: remote connection failure"
# BoringSSL's packed error codes (ERR_PACK(ERR_LIB_SSL, reason)) as Envoy prints them
SSL_ERRORS = {"CERTIFICATE_VERIFY_FAILED": 268435581, "WRONG_VERSION_NUMBER": 268435703}
# X509_verify_cert_error_string (BoringSSL crypto/x509/x509_txt.c), by OpenSSL's verify code
X509_ERRORS = {10: "certificate has expired", 18: "self signed certificate",
               19: "self signed certificate in certificate chain", 20: "unable to get local issuer certificate",
               21: "unable to verify the first certificate"}


class Failed(Exception):
    """The upstream TLS connection failed; str() is Envoy's transport failure reason."""


def port_settings(spec: dict, port: int) -> dict:
    """The client TLS settings for a port: the first port-level entry for it replaces the rule's tls,
    even with none of its own (cluster_traffic_policy.go MergeTrafficPolicy: Tls = p.Tls)."""
    policy = (spec or {}).get("trafficPolicy") or {}
    for level in policy.get("portLevelSettings") or []:
        if (level.get("port") or {}).get("number") == port:
            return level.get("tls") or {}
    return policy.get("tls") or {}


# -- what Envoy's upstream TLS context is -------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Envoy's upstream TLS for one request: none (plain text), or TLS with these checks."""

    tls: bool
    sni: str = ""
    trust: bytes | None = None  # CA certificates to verify with; None: no verification
    missing: str = ""  # a trust source the proxy cannot load: no secret, no TLS
    san_list: tuple[str, ...] = ()  # auto_san_validation (the SNI)
    san_matchers: tuple[str, ...] = ()  # match_subject_alt_names (subjectAltNames)


def plan(settings: dict, selector: bool, version: tuple[int, int], host_header: str, entry_sans: tuple[str, ...],
         os_bundle: bytes, http: bool = True) -> Plan:
    """Envoy's upstream TLS context for SIMPLE settings, as Istio builds it for a sidecar.

    Auto SNI and auto SAN validation are HTTP upstream options (UpstreamHttpProtocolOptions): a
    TCP proxy (http False) has neither."""
    if settings.get("credentialName") and not selector:
        return Plan(tls=False)  # no TLS context for a sidecar's credentialName without a selector
    modern = version >= (1, 21)  # ENABLE_AUTO_SNI, VERIFY_CERTIFICATE_AT_CLIENT
    insecure = bool(settings.get("insecureSkipVerify"))
    sni = settings.get("sni") or ""
    auto_sni = not sni and modern and http
    if auto_sni:
        sni = host_header.split(":")[0]
    sans = tuple(settings.get("subjectAltNames") or entry_sans)
    san_list = (sni,) if auto_sni and not sans and not insecure else ()
    path = settings.get("caCertificates") or ("system" if modern else "")
    if settings.get("credentialName"):
        return Plan(True, sni, None, f"credentialName {settings['credentialName']}", san_list, sans)
    if insecure or not path:
        return Plan(True, sni)  # an empty validation context: any certificate is accepted
    if path in ("system", OS_BUNDLE):
        return Plan(True, sni, os_bundle, "", san_list, sans)
    return Plan(True, sni, None, f"caCertificates {path}", san_list, sans)


def dns_name_match(dns_name: str, pattern: str) -> bool:
    """Envoy's Utility::dnsNameMatch (source/common/tls/utility.cc): is dns_name (a configured SAN or
    the SNI) covered by pattern (a certificate's DNS SAN)? Case-insensitive; one `*` in the first
    label stands for any characters of that label, never a dot."""
    name, pattern = dns_name.lower(), pattern.lower()
    if not name or not pattern:
        return False
    if name == pattern:
        return True
    first, _, rest = pattern.partition(".")
    if first.count("*") != 1 or "*" in rest:
        return False
    label, _, name_rest = name.partition(".")
    if name_rest != rest or not label:
        return False
    prefix, suffix = first.split("*")
    return len(label) >= len(prefix) + len(suffix) and label.startswith(prefix) and label.endswith(suffix)


def _reason(name: str, detail: str = "") -> str:
    code = SSL_ERRORS.get(name, 0)
    return f"TLS_error:|{code}:SSL routines:OPENSSL_internal:{name}" + (f":{detail}" if detail else "") + \
        ":TLS_error_end"


def handshake(p: Plan, sock: socket.socket) -> ssl.SSLSocket:
    """Open Envoy's TLS on an upstream connection; raises Failed with Envoy's failure reason."""
    if p.missing:
        raise Failed("")  # NotReadySslSocket: the connection fails before any handshake
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # Envoy checks names only through its SAN settings
    if p.trust is None:
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_verify_locations(cadata=p.trust.decode())
    try:
        wrapped = context.wrap_socket(sock, server_hostname=p.sni or None)
    except ssl.SSLCertVerificationError as err:
        detail = X509_ERRORS.get(err.verify_code, err.verify_message)
        raise Failed(_reason("CERTIFICATE_VERIFY_FAILED", "verify cert failed: X509_verify_cert: certificate "
                             f"verification error at depth 0: {detail}")) from None
    except ssl.SSLError as err:
        raise Failed(_reason(err.reason or "UNKNOWN")) from None
    except OSError:
        raise Failed("connection termination") from None
    if p.trust is not None:
        names = [v for kind, v in (wrapped.getpeercert() or {}).get("subjectAltName", ()) if kind == "DNS"]
        for wanted, why in ((p.san_list, "verify SAN list"), (p.san_matchers, "SAN matcher")):
            if wanted and not any(dns_name_match(w, pattern) for w in wanted for pattern in names):
                wrapped.close()
                raise Failed(_reason("CERTIFICATE_VERIFY_FAILED", f"verify cert failed: {why}"))
    return wrapped


def local_reply(failure: Failed) -> str:
    """The body of Envoy's 503 when the upstream TLS connection failed."""
    reason = str(failure)
    if reason == "connection termination":
        return UPSTREAM_ERROR + "reset reason: connection termination"
    if not reason:  # no secret: Envoy reports only the connect failure
        return UPSTREAM_ERROR + RETRIED
    return UPSTREAM_ERROR + RETRIED + ", transport failure reason: " + reason


def relay(plain: socket.socket, wrapped: ssl.SSLSocket, idle: float = 30.0) -> None:
    """Copy bytes both ways between the app's connection and Envoy's TLS upstream, in one thread
    (an SSL object must not be read and written from two threads at once)."""
    try:
        while True:
            ready = [wrapped] if wrapped.pending() else select.select([plain, wrapped], [], [], idle)[0]
            if not ready:
                return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                if not data:
                    return
                (wrapped if sock is plain else plain).sendall(data)
    except OSError:
        return
