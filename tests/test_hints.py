"""Every hint the probe gives, word for word (pure, table-driven): the words are what a user reads,
and the fix is a command they run, so each branch of probe/hints.py is a row with its whole message and
fix. The rows name what they pin: curl's exit codes and errors as curl prints them, Envoy's bodies as
its sidecar answers, and the mesh facts (revisions, outbound policy, Sidecars) of tests/test_probe_mesh.py."""
import dataclasses
import ipaddress

import pytest

from kubectl_egress import probe
from kubectl_egress.model import Origination, Target
from kubectl_egress.probe.checks import Check
from kubectl_egress.probe.hints import Context, diagnose
from tests.test_probe_mesh import (AMBIENT, BARE, BLACKHOLE_STATS, HIDING, HTTPBIN, REGISTRY, RESET, SIDECAR, WIKI,
                                   WIKI_ALIAS, ctx, facts, ns, out, pod)

PLAIN = probe.Source("team", "curl-2", "curl", sidecar=False, mesh=False)
DB = Target("db", "team", host="db.example.com", port=5432, protocol="tcp")
DB_EP = Target("db", "team", host="", ips=(ipaddress.ip_address("192.0.2.7"),), port=5432, protocol="tcp",
               endpoints_api="endpoints")
NO_IPS = dataclasses.replace(DB_EP, ips=(), protocol="http", external=False)  # a Service whose endpoints are gone
WIKI_EXT = dataclasses.replace(WIKI, ips=(), external=True)
SITE = Target("my-site", "default", host="site.example", origination=Origination())
RAW = Target("raw", "team", ips=(ipaddress.ip_address("192.0.2.1"),), port=443, protocol="tls")
ORIG = dict(originates="site.example:443")
PATHY = "/r?u=http://x/y"  # a path (--path) may hold "://" and "/": the host is what comes before them


def http(target, path="/headers", **kw):
    return Check("0", target.name, target.namespace, f"http://{target.fqdn}{path}", mesh_host=target.fqdn,
                 port=target.port, **kw)


def tls(target, **kw):
    return Check("0", target.name, target.namespace, f"https://{target.host}:{target.port}/", "--connect-to",
                 f"{target.host}:{target.port}:10.96.0.7:{target.port}", tls=True, mesh_host=target.fqdn,
                 port=target.port, **kw)


def telnet(target, **kw):
    return Check("0", target.name, target.namespace, f"telnet://{target.fqdn}:{target.port}",
                 mesh_host=target.fqdn, port=target.port, **kw)


def shake(note="no host name is known for port 443"):
    """A handshake-only check (no host name known): curl -k, and the certificates' names."""
    return Check("0", "raw", "team", "https://10.96.7.8/", "handshake", "-", tls=True, mesh_host=RAW.fqdn,
                 port=443, note=note)


def certs(*names):
    return "Subject:CN = x\nX509v3 Subject Alternative Name:" + ", ".join(f"DNS:{n}" for n in names) + "\n"


def bare(**labels):
    """A mesh source without a sidecar or ztunnel, with these pod labels."""
    return dataclasses.replace(BARE, obj={"metadata": {"name": "curl-1", "namespace": "default",
                                                       "labels": {"app": "curl", **labels}}})


def nsctx(source, **labels):
    return Context(facts(namespace=ns(**labels)).pod(source.obj), False, None, "kubectl delete pod curl-1")


# a pod of the old (legacy) revision whose namespace asks for an alias-mode canary: they differ for ExternalNames
DIFFER = ctx(facts(alias=False, canary=("1.24.3", True), namespace=ns(**{"istio.io/rev": "canary"})))
SAME = ctx(facts(canary=("1.28.10", True), namespace=ns(**{"istio.io/rev": "canary"})))
GHOST = ctx(facts(canary=("1.28.10", True), namespace=ns(**{"istio.io/rev": "canary"})), p=pod(rev="ghost"))
OLD_NO_VERSION = facts(alias=False, canary=("1.24.3", True), namespace=ns(**{"istio.io/rev": "canary"}))
OLD_NO_VERSION.revisions["default"] = dataclasses.replace(OLD_NO_VERSION.revisions["default"], version="")
NO_VERSION = ctx(facts(alias=False, canary=("", True), namespace=ns(**{"istio.io/rev": "canary"})))
LEGACY_REGISTRY = ctx(facts("REGISTRY_ONLY", alias=False), entry=False)
OWN_NAMESPACE = facts("ALLOW_ANY", sidecars=[{"metadata": {"name": "default", "namespace": "default"},
                                               "spec": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
                                                        "egress": [{"hosts": ["./*"]}]}}])
OPTED_OUT = bare(**{"istio.io/dataplane-mode": "none"})
NOT_INJECTED = bare(**{"sidecar.istio.io/inject": "False"})  # Istio's injector lower-cases it
ENVOY = {"server": "envoy"}
MTLS = "upstream connect error or disconnect/reset before headers"
EMPTY = "curl: (52) Empty reply from server"
WRONG_VERSION = "curl: (35) error:0A00010B:SSL routines::wrong version number"
# Envoy's 503 bodies when the sidecar originates TLS (tests/apiserver/origination.py answers the same)
UNVERIFIED = (MTLS + ". retried and the latest reset reason: remote connection failure, transport failure reason: "
              "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: "
              "X509_verify_cert: certificate verification error at depth 0: self signed certificate:TLS_error_end")
SAN = UNVERIFIED.replace("self signed certificate", "verify SAN list")
NO_CA = MTLS + ". retried and the latest reset reason: remote connection failure\n"
PLAIN_TO_TLS = "<center>The plain HTTP request was sent to HTTPS port</center>"


ROWS = [
    ("not-run", http(HTTPBIN), probe.Outcome(),
     HTTPBIN, PLAIN, Context(),
     'the probe did not run this check (the exec ended early)',
     ''),
    ("mtls-fix-from-istio-mutual", http(HTTPBIN), out(exit=0, code=503, body=MTLS),
     dataclasses.replace(HTTPBIN, tls_mode="ISTIO_MUTUAL"), SIDECAR, Context(),
     'the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no DestinationRule '
     'with a non-mTLS mode applies to my-httpbin.default.svc.cluster.local',
     'kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE'),
    ("differ-passing-row-other-hint-first", http(HTTPBIN), out(exit=0, code=200),
     HTTPBIN, SIDECAR, DIFFER,
     'a sidecar was expected but none of its headers or counters were seen: the traffic bypassed '
     'istio-proxy (excluded ports or IP ranges?)',
     ''),
    ("differ-passing-399", http(HTTPBIN), out(exit=0, code=399),
     HTTPBIN, SIDECAR, DIFFER,
     'a sidecar was expected but none of its headers or counters were seen: the traffic bypassed '
     'istio-proxy (excluded ports or IP ranges?)',
     ''),
    ("differ-failing-400", http(HTTPBIN), out(exit=0, code=400),
     HTTPBIN, SIDECAR, DIFFER,
     'the source pod runs revision default (1.20.8) but its namespace asks for revision canary (1.24.3): '
     'its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName Service '
     'than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    ("differ-failing-exit", http(HTTPBIN), out(exit=18, code=200),
     HTTPBIN, SIDECAR, DIFFER,
     'the source pod runs revision default (1.20.8) but its namespace asks for revision canary (1.24.3): '
     'its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName Service '
     'than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    ("differ-passing-200-seen", http(HTTPBIN), out(exit=0, code=200, headers=ENVOY),
     HTTPBIN, SIDECAR, DIFFER,
     'the source pod runs revision default (1.20.8) but its namespace asks for revision canary (1.24.3): '
     'its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName Service '
     'than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    # a TCP check held open until --timeout passed (verdict.held_open): its note, the stale revision after
    ("differ-telnet-passing-note", telnet(DB, note="only the TCP connection is checked"),
     out(exit=28, remote="192.0.2.7:5432"),
     DB, SIDECAR, DIFFER,
     'only the TCP connection is checked',
     ''),
    # a TCP check that failed (verdict.ok): the changed mode explains it first, as for HTTP
    ("differ-telnet-refused", telnet(DB), out(exit=7, error="curl: (7) Failed to connect: Connection refused"),
     DB, SIDECAR, DIFFER,
     'the source pod runs revision default (1.20.8) but its namespace asks for revision canary (1.24.3): '
     'its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName Service '
     'than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    ("differ-telnet-closed-empty", telnet(DB), out(exit=0, remote="192.0.2.7:5432"),
     DB, SIDECAR, DIFFER,
     'the source pod runs revision default (1.20.8) but its namespace asks for revision canary (1.24.3): '
     'its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName Service '
     'than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    ("same-telnet-refused", telnet(DB), out(exit=7, error="curl: (7) Failed to connect: Connection refused"),
     DB, SIDECAR, SAME,
     'connection refused (db.team.svc.cluster.local:5432): db.example.com does not listen on port 5432; '
     'check --port',
     ''),
    ("not-stale-passing", http(HTTPBIN), out(exit=0, code=200, headers=ENVOY),
     HTTPBIN, SIDECAR, ctx(facts()),
     '',
     ''),
    ("ghost-revision", http(HTTPBIN), out(exit=0, code=200, headers=ENVOY),
     HTTPBIN, SIDECAR, GHOST,
     '',
     ''),
    ("no-version", http(HTTPBIN), out(exit=0, code=200, headers=ENVOY),
     HTTPBIN, SIDECAR, NO_VERSION,
     'the source pod runs revision default (1.20.8) but its namespace asks for revision canary (unknown '
     'version): its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName '
     'Service than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    ("no-endpoints-but-passing", http(DB_EP), out(exit=0, code=200),
     NO_IPS, PLAIN, Context(),
     '',
     ''),
    ("no-endpoints-exit-1", http(DB_EP), out(exit=1),
     NO_IPS, PLAIN, Context(),
     'the Service has no endpoints (no EndpointSlice or Endpoints with its name), so nothing answers on port '
     '5432 (curl exit 1): give its IPs again',
     'kubectl egress endpoints db IP --port 5432 --protocol http --api endpoints -n team'),
    # a stale revision that does not change the ExternalName mode: the failure's own hint says more
    ("same-failing-500", http(HTTPBIN), out(exit=0, code=500),
     HTTPBIN, SIDECAR, SAME,
     'the external service answered 500',
     ''),
    ("old-version-unknown", http(HTTPBIN), out(exit=0, code=200, headers=ENVOY),
     HTTPBIN, SIDECAR, ctx(OLD_NO_VERSION),
     'the source pod runs revision default (unknown version) but its namespace asks for revision canary '
     '(1.24.3): its sidecar follows istiod in legacy mode, which needs other objects for an ExternalName '
     'Service than alias mode, until the pod is replaced',
     'kubectl rollout restart deployment/curl -n default'),
    ("reset-56", tls(WIKI), out(exit=56, error="curl: (56) Recv failure: Connection reset by peer"),
     WIKI, SIDECAR, Context(),
     'the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host '
     '(DestinationRule missing or in mode ISTIO_MUTUAL)',
     'kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --host en.wikipedia.org --tls-mode DISABLE'),
    ("reset-syscall", tls(WIKI),
     out(exit=35, error="curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to en.wikipedia.org:443"),
     WIKI, SIDECAR, Context(),
     'the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host '
     '(DestinationRule missing or in mode ISTIO_MUTUAL)',
     'kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --host en.wikipedia.org --tls-mode DISABLE'),
    ("reset-eof", tls(WIKI), out(exit=35, error="curl: (35) TLS connect error: error:0A000126:SSL routines::"
                                            "unexpected eof while reading"),
     WIKI, SIDECAR, Context(),
     'the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host '
     '(DestinationRule missing or in mode ISTIO_MUTUAL)',
     'kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --host en.wikipedia.org --tls-mode DISABLE'),
    ("tls-35-other", tls(WIKI), out(exit=35, error="curl: (35) TLS connect error"),
     WIKI, SIDECAR, Context(),
     'curl failed (exit 35): curl: (35) TLS connect error',
     ''),
    ("double-tls", tls(WIKI), out(exit=35, error=WRONG_VERSION),
     dataclasses.replace(WIKI, tls_mode="SIMPLE"), SIDECAR, Context(),
     'double TLS: the DestinationRule originates TLS (mode SIMPLE) on port 443, where the app already '
     'speaks TLS, so the sidecar encrypts it again (istio#36377)',
     'kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --host en.wikipedia.org --tls-mode DISABLE'),
    ("simple-without-sidecar-is-mixed", tls(WIKI), out(exit=35, error=WRONG_VERSION),
     dataclasses.replace(WIKI, tls_mode="SIMPLE"), PLAIN, Context(),
     "TLS and plain traffic are mixed on port 443: the port is named 'tls', which looks wrong for this "
     'service',
     'kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --protocol http --host en.wikipedia.org '
     '--tls-mode SIMPLE'),
    ("unknown-protocol-plain-check", http(HTTPBIN),
     out(exit=35, error="curl: (35) error:0A000126:SSL routines::unknown protocol"),
     HTTPBIN, PLAIN, Context(),
     "TLS and plain traffic are mixed on port 80: the port is named 'http', which looks wrong for this "
     'service',
     'kubectl egress externalname my-httpbin httpbin.org --protocol tls'),
    ("400-other", http(HTTPBIN), out(exit=0, code=400, body="bad request"),
     HTTPBIN, PLAIN, Context(),
     'the external service answered 400',
     ''),
    ("dns-port", tls(dataclasses.replace(WIKI, ips=())), out(exit=6),
     WIKI_EXT, PLAIN, Context(),
     "DNS: en.wikipedia.org does not resolve in the pod; the ExternalName target 'en.wikipedia.org' must "
     "resolve in the cluster's DNS",
     ''),
    ("dns-path", http(HTTPBIN, PATHY), out(exit=6),
     HTTPBIN, PLAIN, Context(),
     'DNS: my-httpbin.default.svc.cluster.local does not resolve in the pod; the ExternalName target '
     "'httpbin.org' must resolve in the cluster's DNS",
     ''),
    ("dns-deep-path", http(HTTPBIN, "/status/418"), out(exit=6),
     HTTPBIN, PLAIN, Context(),
     'DNS: my-httpbin.default.svc.cluster.local does not resolve in the pod; the ExternalName target '
     "'httpbin.org' must resolve in the cluster's DNS",
     ''),
    ("refused-no-remote", http(HTTPBIN, PATHY), out(exit=7),
     HTTPBIN, PLAIN, Context(),
     'connection refused (my-httpbin.default.svc.cluster.local): httpbin.org does not listen on port 80; '
     'check --port',
     ''),
    ("refused-tls-no-remote", tls(dataclasses.replace(WIKI, ips=())), out(exit=7),
     WIKI_EXT, PLAIN, Context(),
     'connection refused (en.wikipedia.org:443): en.wikipedia.org does not listen on port 443; check '
     '--port',
     ''),
    ("cert-60", tls(WIKI), out(exit=60),
     WIKI, PLAIN, Context(),
     'the certificate does not match en.wikipedia.org:443: check the host name (--host)',
     ''),
    ("cert-problem", tls(WIKI),
     out(exit=35, error="curl: (35) SSL certificate problem: unable to get local issuer certificate"),
     WIKI, PLAIN, Context(),
     'the certificate does not match en.wikipedia.org:443: check the host name (--host)',
     ''),
    ("cert-match", tls(WIKI),
     out(exit=51, error="curl: (51) SSL: no alternative certificate subject name matches target host name"),
     WIKI, PLAIN, Context(),
     'the certificate does not match en.wikipedia.org:443: check the host name (--host)',
     ''),
    ("cert-no-match", tls(WIKI), out(exit=35, error="curl: (35) certificate verify failed"),
     WIKI, PLAIN, Context(),
     'curl failed (exit 35): curl: (35) certificate verify failed',
     ''),
    ("match-no-cert", tls(WIKI), out(exit=35, error="curl: (35) cipher does not match"),
     WIKI, PLAIN, Context(),
     'curl failed (exit 35): curl: (35) cipher does not match',
     ''),
    ("cert-note", tls(WIKI, note="the certificate is checked for en.wikipedia.org only"), out(exit=60),
     WIKI, PLAIN, Context(),
     'the certificate is checked for en.wikipedia.org only',
     ''),
    ("cert-path", Check("0", "w", "default", "https://en.wikipedia.org" + PATHY, tls=True, port=443), out(exit=60),
     WIKI, PLAIN, Context(),
     'the certificate does not match en.wikipedia.org: check the host name (--host)',
     ''),
    ("note-on-a-pass", http(HTTPBIN, note="checked through the Service's cluster IP only"), out(exit=0, code=200),
     HTTPBIN, PLAIN, Context(),
     "checked through the Service's cluster IP only",
     ''),
    ("curl-failed-no-detail", http(HTTPBIN), out(exit=3),
     HTTPBIN, PLAIN, Context(),
     'curl failed (exit 3): no detail',
     ''),
    ("curl-failed-first-line", http(HTTPBIN), out(exit=3, error="curl: (3) URL rejected: Malformed input\nmore"),
     HTTPBIN, PLAIN, Context(),
     'curl failed (exit 3): curl: (3) URL rejected: Malformed input',
     ''),
    ("redirect-to-https", http(HTTPBIN), out(exit=0, code=301, headers={"location": "https://httpbin.org/"}),
     HTTPBIN, PLAIN, Context(),
     '301 to https://httpbin.org/: the site wants HTTPS; callers must speak it, or --tls-origination has '
     'their sidecar speak it for them',
     ''),
    ("redirect-over-tls-is-not", tls(WIKI), out(exit=0, code=301, headers={"location": "https://en.wikipedia.org/"}),
     WIKI, PLAIN, Context(),
     '',
     ''),
    ("sidecar-expected", http(HTTPBIN), out(exit=0, code=200),
     HTTPBIN, SIDECAR, Context(),
     'a sidecar was expected but none of its headers or counters were seen: the traffic bypassed '
     'istio-proxy (excluded ports or IP ranges?)',
     ''),
    ("passthrough", http(HTTPBIN),
     out(exit=0, code=200, stats_after={"destination_service_name=.=PassthroughCluster;.;_istio_requests_total": 1}),
     HTTPBIN, SIDECAR, Context(),
     'the sidecar passed it through without matching my-httpbin.default.svc.cluster.local: Istio does not '
     'know this service on that port (port name? ServiceEntry?)',
     ''),
    # a TCP check the proxy accepted and closed without a byte (verdict.proxy_closed)
    ("closed-mtls", telnet(DB), out(exit=0, remote="192.0.2.7:5432"),
     dataclasses.replace(DB, tls_mode="ISTIO_MUTUAL"), SIDECAR, Context(),
     'the sidecar accepted the connection and closed it empty (curl exit 0): it wraps the traffic in Istio '
     'mutual TLS (DestinationRule mode ISTIO_MUTUAL for db.team.svc.cluster.local), which db.example.com:5432 '
     'cannot speak',
     'kubectl egress externalname db db.example.com --port 5432 --protocol tcp --tls-mode DISABLE -n team'),
    # MUTUAL is the user's own client certificate, not Istio's mutual TLS
    ("closed-mutual", telnet(DB), out(exit=56, remote="192.0.2.7:5432"),
     dataclasses.replace(DB, tls_mode="MUTUAL"), SIDECAR, Context(),
     "the sidecar accepted the connection and closed it empty (curl exit 56): it could not connect to "
     "db.example.com:5432, which does not listen there or is blocked on the way (istio-proxy's access log says "
     "UF); check --port",
     ''),
    ("closed-sidecar", telnet(DB), out(exit=0, remote="192.0.2.7:5432"),
     DB, SIDECAR, Context(),
     "the sidecar accepted the connection and closed it empty (curl exit 0): it could not connect to "
     "db.example.com:5432, which does not listen there or is blocked on the way (istio-proxy's access log says "
     "UF); check --port",
     ''),
    ("closed-ambient-endpoints", telnet(DB_EP), out(exit=56, remote="192.0.2.7:5432"),
     DB_EP, AMBIENT, Context(),
     "ztunnel accepted the connection and closed it empty (curl exit 56): it could not connect to "
     "db.team.svc.cluster.local:5432, which does not listen there or is blocked on the way (ztunnel's log says "
     "why); check --port",
     ''),
    ("closed-with-bytes", telnet(DB), out(exit=0, remote="192.0.2.7:5432", body="220 ready"),
     DB, SIDECAR, Context(),
     'a sidecar was expected but none of its headers or counters were seen: the traffic bypassed '
     'istio-proxy (excluded ports or IP ranges?)',
     ''),
    ("closed-plain-source", telnet(DB), out(exit=0, remote="192.0.2.7:5432"),
     DB, PLAIN, Context(), '', ''),
    ("held-open", telnet(DB), out(exit=28, remote="192.0.2.7:5432"),
     DB, PLAIN, Context(), '', ''),
    ("telnet-28-no-remote", telnet(DB), out(exit=28),
     DB, PLAIN, Context(),
     'no answer within --timeout=10s: an egress firewall or a NetworkPolicy may block it, or the external host '
     'is down',
     ''),
    ("orig-sni-port", Check("0", "my-site", "default", "http://my-site.default.svc.cluster.local:8080/",
                            mesh_host="site.example", port=8080, **ORIG), out(exit=0, code=503, body=SAN),
     dataclasses.replace(SITE, port=8080), SIDECAR, Context(),
     'missing SNI: the DestinationRule gives no sni, so the sidecar (Istio 1.21+) sent the Host header, '
     "my-site.default.svc.cluster.local, as SNI and required site.example's certificate to name it; set "
     'sni: site.example',
     'kubectl egress externalname my-site site.example --port 8080 --tls-origination'),
    ("orig-sni-path", Check("0", "my-site", "default", "http://my-site.default.svc.cluster.local" + PATHY,
                            mesh_host="site.example", port=80, **ORIG), out(exit=0, code=503, body=SAN),
     SITE, SIDECAR, Context(),
     'missing SNI: the DestinationRule gives no sni, so the sidecar (Istio 1.21+) sent the Host header, '
     "my-site.default.svc.cluster.local, as SNI and required site.example's certificate to name it; set "
     'sni: site.example',
     'kubectl egress externalname my-site site.example --tls-origination'),
    ("orig-verify", http(SITE, "/", **ORIG), out(exit=0, code=503, body=UNVERIFIED),
     SITE, SIDECAR, Context(),
     "the sidecar could not verify site.example's certificate (verify cert failed: X509_verify_cert: "
     'certificate verification error at depth 0: self signed certificate); if you trust it anyway, kubectl '
     'egress externalname my-site site.example --tls-origination --insecure-skip-verify turns the check '
     'off, and anyone on the path can then read and change the traffic',
     ''),
    ("orig-502-wrong-version", http(SITE, "/", **ORIG), out(exit=0, code=502, body="WRONG_VERSION_NUMBER"),
     SITE, SIDECAR, Context(),
     'the external service answered 502',
     ''),
    ("orig-no-ca", http(SITE, "/", **ORIG), out(exit=0, code=503, body=NO_CA),
     SITE, SIDECAR, Context(),
     'the sidecar had no CA certificates to verify with: caCertificates names a file the proxy does not '
     'have, or credentialName a secret it cannot read',
     'kubectl egress externalname my-site site.example --tls-origination'),
    ("orig-503-other", http(SITE, "/", **ORIG), out(exit=0, code=503, body="no healthy upstream"),
     SITE, SIDECAR, Context(),
     'the external service answered 503',
     ''),
    ("orig-plain-to-tls", http(SITE, "/", **ORIG), out(exit=0, code=400, body=PLAIN_TO_TLS),
     SITE, SIDECAR, Context(),
     'the sidecar sent plain HTTP to site.example:443: a credentialName without a workloadSelector gives '
     'sidecars no TLS settings at all',
     'kubectl egress externalname my-site site.example --tls-origination'),
    ("orig-400-other", http(SITE, "/", **ORIG), out(exit=0, code=400, body="bad request"),
     SITE, SIDECAR, Context(),
     'the external service answered 400',
     ''),
    ("ambient-opt-out", http(HTTPBIN), out(exit=0, code=200),
     HTTPBIN, OPTED_OUT, nsctx(OPTED_OUT, **{"istio.io/dataplane-mode": "ambient"}),
     'the source pod default/curl-1 opts out of ambient mode (label istio.io/dataplane-mode=none) though '
     'namespace default is enrolled',
     'kubectl label pod curl-1 -n default istio.io/dataplane-mode-'),
    ("inject-false", http(HTTPBIN), out(exit=0, code=200),
     HTTPBIN, NOT_INJECTED, nsctx(NOT_INJECTED, **{"istio-injection": "enabled"}),
     'the source pod default/curl-1 opts out of injection (label sidecar.istio.io/inject=false) though '
     'namespace default asks for sidecars (istio-injection=enabled)',
     ''),
    ("registry-200-empty", http(HTTPBIN), out(exit=0, code=200, body=""),
     HTTPBIN, SIDECAR, ctx(REGISTRY, entry=False),
     'a sidecar was expected but none of its headers or counters were seen: the traffic bypassed '
     'istio-proxy (excluded ports or IP ranges?)',
     ''),
    ("registry-52", http(HTTPBIN), out(exit=52, error=EMPTY),
     HTTPBIN, SIDECAR, ctx(REGISTRY, entry=False),
     'the sidecar blocked it (a reset connection): outbound traffic policy REGISTRY_ONLY, from the mesh '
     'config istio-system/istio, and no ServiceEntry puts httpbin.org in its registry',
     'kubectl egress externalname my-httpbin httpbin.org'),
    ("registry-legacy-http", http(HTTPBIN), out(exit=0, code=502, body=""),
     HTTPBIN, SIDECAR, LEGACY_REGISTRY,
     'the external service answered 502',
     ''),
    ("registry-hidden-entry", tls(WIKI_ALIAS), out(exit=35, error=RESET),
     WIKI_ALIAS, SIDECAR, ctx(HIDING, entry=True),
     'the sidecar blocked it (a reset connection): outbound traffic policy REGISTRY_ONLY, from the Sidecar '
     'default/default, and the egress hosts of Sidecar default/default do not include '
     'default/en.wikipedia.org (a ServiceEntry is there, but hidden): add "default/en.wikipedia.org" to '
     'them',
     'kubectl edit sidecar default -n default'),
    ("registry-sees-own-namespace", tls(WIKI), out(exit=35, error=RESET),
     WIKI, SIDECAR, ctx(OWN_NAMESPACE),
     'the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host '
     '(DestinationRule missing or in mode ISTIO_MUTUAL)',
     'kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --host en.wikipedia.org --tls-mode DISABLE'),
    ("registry-no-match", tls(WIKI), out(exit=35, error=RESET, stats_after={BLACKHOLE_STATS: 1}),
     WIKI, SIDECAR, ctx(REGISTRY),
     'the sidecar blocked it (a reset connection, counted for the BlackHoleCluster): outbound traffic '
     'policy REGISTRY_ONLY, from the mesh config istio-system/istio, and Istio matches no service for '
     "my-wikipedia.default.svc.cluster.local on port 443 (is the port's protocol right?)",
     ''),
    ("handshake-no-names", shake(), out(exit=0, code=200),
     RAW, PLAIN, Context(),
     "no host name is known for port 443: its certificate's names could not be read (curl 7.88 or later "
     'prints them); for a full HTTPS check give the host clients use',
     'kubectl egress probe raw --host raw=HOST -n team'),
    ("handshake-wildcard-only", shake(), out(exit=0, code=200, certs=certs("*.example.com")),
     RAW, PLAIN, Context(),
     'no host name is known for port 443: its certificate names *.example.com; for a full HTTPS check give '
     'the host clients use',
     'kubectl egress probe raw --host raw=HOST -n team'),
    ("handshake-first-plain-name", shake(), out(exit=0, code=200, certs=certs("*.example.com", "api.example.com")),
     RAW, PLAIN, Context(),
     'no host name is known for port 443: its certificate names *.example.com, api.example.com; for a full '
     'HTTPS check give the host clients use',
     'kubectl egress probe raw --host raw=api.example.com -n team'),
    ("recipe-istio-mutual", http(HTTPBIN), out(exit=52, error=EMPTY),
     dataclasses.replace(HTTPBIN, tls_mode="ISTIO_MUTUAL"), SIDECAR, ctx(REGISTRY, entry=False),
     'the sidecar blocked it (a reset connection): outbound traffic policy REGISTRY_ONLY, from the mesh '
     'config istio-system/istio, and no ServiceEntry puts httpbin.org in its registry',
     'kubectl egress externalname my-httpbin httpbin.org'),
    ("recipe-simple", http(HTTPBIN), out(exit=52, error=EMPTY),
     dataclasses.replace(HTTPBIN, tls_mode="SIMPLE"), SIDECAR, ctx(REGISTRY, entry=False),
     'the sidecar blocked it (a reset connection): outbound traffic policy REGISTRY_ONLY, from the mesh '
     'config istio-system/istio, and no ServiceEntry puts httpbin.org in its registry',
     'kubectl egress externalname my-httpbin httpbin.org --tls-mode SIMPLE'),
]


@pytest.mark.parametrize("check, outcome, target, source, context, message, fix", [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_every_hint_word_for_word(check, outcome, target, source, context, message, fix):
    hint = diagnose(check, outcome, target, source, 10, context)
    assert (hint.message, hint.fix) == (message, fix)


ENTRY = Target("api", "team", host="a.example.com", hosts=("a.example.com", "b.example.com"), recipe="serviceentry")


@pytest.mark.parametrize("target, explicit, changes, line", [
    # every host of the ServiceEntry, in its order
    (ENTRY, (), {}, "kubectl egress serviceentry api a.example.com b.example.com -n team"),
    (dataclasses.replace(ENTRY, hosts=()), (), {}, "kubectl egress serviceentry api a.example.com -n team"),
    (ENTRY, ("protocol",), {}, "kubectl egress serviceentry api a.example.com b.example.com --protocol http -n team"),
    # --tls-origination takes no --protocol: validate_entry refuses any but plain HTTP with it
    (dataclasses.replace(ENTRY, origination=Origination()), ("protocol",), {"protocol": "https"},
     "kubectl egress serviceentry api a.example.com b.example.com --tls-origination -n team"),
    # endpoints: tls is the default protocol, written when asked for
    (RAW, (), {}, "kubectl egress endpoints raw 192.0.2.1 --port 443 -n team"),
    (RAW, ("protocol",), {}, "kubectl egress endpoints raw 192.0.2.1 --port 443 --protocol tls -n team"),
])
def test_the_command_a_hint_gives(target, explicit, changes, line):
    assert probe.command_line(target, explicit, **changes) == line
