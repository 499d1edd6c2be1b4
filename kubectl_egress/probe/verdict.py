"""What an Outcome proves: did the check pass, and did a sidecar carry it (pure)."""
from __future__ import annotations

import json

from .checks import Check
from .parse import Outcome

PASSTHROUGH = "destination_service_name=.=PassthroughCluster"
SIDECAR_REQUEST_HEADERS = ("x-envoy-decorator-operation", "x-envoy-peer-metadata-id",
                           "x-envoy-peer-metadata", "x-b3-traceid", "x-envoy-attempt-count")
SIDECAR_RESPONSE_HEADERS = ("x-envoy-upstream-service-time",)


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


def redirect_to_https(outcome: Outcome) -> str:
    """The https:// Location of a plain-HTTP answer that sends the client on to HTTPS ('' if none):
    what a site that wants TLS answers to plain HTTP (301 in Istio's "Egress TLS Origination" task)."""
    location = outcome.headers.get("location", "")
    return location if 300 <= outcome.code < 400 and location.lower().startswith("https://") else ""


def originated(outcome: Outcome, check: Check) -> bool:
    """The sidecar spoke TLS for the app: origination was asked for, the sidecar carried the request,
    and the answer is the HTTPS site's, not the plain-HTTP redirect to https."""
    return bool(check.originates) and outcome.exit == 0 and 200 <= outcome.code < 400 and \
        sidecar_seen(outcome) and not redirect_to_https(outcome)


def held_open(outcome: Outcome, check: Check) -> bool:
    """A TCP check that connected and was held open until --max-time: curl's telnet:// waits for
    the server, which a client-first protocol leaves silent, so curl ends with exit 28."""
    return check.url.startswith("telnet://") and outcome.exit == 28 and bool(outcome.remote)


def proxy_closed(outcome: Outcome, check: Check) -> bool:
    """A TCP check whose connection was closed without a byte. Through a sidecar that is Envoy
    giving up on the upstream: its TCP proxy accepts every connection the app makes and closes it
    (or resets it) when it cannot connect upstream (access log flag UF), so a connection that ends
    at once and empty says nothing reached the external host. ztunnel, which accepts an ambient
    pod's connections in the pod's network namespace, does the same. Held open until --timeout (exit 28),
    or with bytes from the server, it did."""
    return check.url.startswith("telnet://") and outcome.exit in (0, 56) and bool(outcome.remote) and \
        not outcome.body.strip()


def ok(outcome: Outcome, check: Check, sidecar: bool = False, ambient: bool = False) -> bool:
    """Did the check pass? With TLS origination, a caller with a sidecar must get the HTTPS answer."""
    if check.handshake:  # the TLS handshake and an answer through it; the host was not named
        return outcome.exit == 0
    if check.url.startswith("telnet://"):
        if (sidecar or ambient) and proxy_closed(outcome, check):
            return False
        return outcome.exit in (0, 28) and bool(outcome.remote) and "refused" not in outcome.error.lower()
    if check.originates and sidecar and redirect_to_https(outcome):
        return False
    return outcome.exit == 0 and 200 <= outcome.code < 400
