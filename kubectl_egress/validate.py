"""Argument validation: raw strings in, typed values out, or a UsageError that says what to type.

Pure functions, no I/O. The rules are Kubernetes' own (apimachinery
validation), checked here so that bad input never reaches the server and
nothing is half made.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .errors import UsageError
from .model import ENDPOINTS_APIS, IP, ISTIO_MODES, PROTOCOLS, TLS_MODES

DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DEFAULT_PORTS = {"http": 80, "https": 443}


def service_name(name: str) -> str:
    """A Service name: a DNS-1035 label (`my-httpbin`)."""
    if len(name) > 63:
        raise UsageError(f'NAME "{name}" is too long ({len(name)} characters): a Service name has '
                         "at most 63")
    if not DNS1035_LABEL.match(name):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        suggestion = re.sub(r"^[^a-z]+", "", suggestion)
        hint = f' (e.g. "{suggestion}")' if suggestion and DNS1035_LABEL.match(suggestion) else ""
        raise UsageError(f'NAME "{name}" is not a valid Service name: use lower case letters, '
                         f"digits and '-', starting with a letter and ending with a letter or "
                         f"digit{hint}")
    return name


def namespace(name: str) -> str:
    """A namespace name: a DNS-1123 label."""
    if len(name) > 63 or not DNS1123_LABEL.match(name):
        raise UsageError(f'namespace "{name}" is not a valid namespace name: use lower case '
                         "letters, digits and '-', starting and ending with a letter or digit, "
                         "at most 63 characters")
    return name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def host(text: str, name: str = "NAME", label: str = "HOST") -> str:
    """An external host name for an ExternalName Service: a DNS-1123 subdomain.

    A URL, an IP or `host:port` gets a hint with what to type instead.
    """
    raw = text.strip()
    if "://" in raw:
        parts = urlsplit(raw)
        bare = (parts.hostname or "").rstrip(".")
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
        flags = []
        if port and port != 80:
            flags.append(f"--port {port}")
        if scheme in ("https", "grpc", "http2", "tls", "tcp") and scheme != "http":
            flags.append(f"--protocol {scheme}")
        suggestion = " ".join(["kubectl egress externalname", name, bare or "HOST", *flags])
        raise UsageError(f'{label} "{text}" is a URL; give the host name alone, e.g. "{suggestion}"')
    if _is_ip(raw):
        raise UsageError(f'{label} "{text}" is an IP address, which an ExternalName Service cannot '
                         f'resolve; use "kubectl egress endpoints {name} {raw.strip("[]")} --port PORT"')
    match = re.fullmatch(r"([^:/\s]+):(\d+)", raw)
    if match:
        raise UsageError(f'{label} "{text}" includes a port; use {label} "{match.group(1)}" with '
                         f"--port {match.group(2)}")
    if "/" in raw:
        raise UsageError(f'{label} "{text}" has a path; give the host name alone, e.g. '
                         f'"{raw.split("/", 1)[0]}"')
    bare = raw.rstrip(".").lower()  # DNS is case-insensitive; the API server wants lower case
    if not bare or len(bare) > 253 or not DNS1123_SUBDOMAIN.match(bare) or \
            any(len(part) > 63 for part in bare.split(".")):
        raise UsageError(f'{label} "{text}" is not a valid DNS name: use lower case letters, digits, '
                         "'-' and '.', each label starting and ending with a letter or digit "
                         "(e.g. httpbin.org)")
    return bare


def ip(text: str, name: str = "NAME") -> IP:
    """An endpoint IP: IPv4 or IPv6, and an address a Service may point at."""
    raw = text.strip()
    if "/" in raw and _is_network(raw):
        raise UsageError(f'IP "{text}" is a network; give single addresses, e.g. '
                         f'"{raw.split("/", 1)[0]}"')
    try:
        addr = ipaddress.ip_address(raw.strip("[]"))
    except ValueError:
        if DNS1123_SUBDOMAIN.match(raw.lower().rstrip(".")) and not raw.replace(".", "").isdigit():
            raise UsageError(f'IP "{text}" is a host name; use "kubectl egress externalname '
                             f'{name} {raw.lower()}" for host names') from None
        raise UsageError(f'IP "{text}" is not a valid IP address (e.g. 198.35.26.96 or '
                         "2620:0:863:ed1a::1)") from None
    for bad, what in ((addr.is_unspecified, "an unspecified"), (addr.is_loopback, "a loopback"),
                      (addr.is_link_local, "a link-local"), (addr.is_multicast, "a multicast")):
        if bad:
            raise UsageError(f'IP "{text}" is {what} address, which a Service cannot send '
                             "traffic to; give the external service's address")
    return addr


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def ips(texts: tuple[str, ...] | list[str], name: str = "NAME") -> tuple[IP, ...]:
    if not texts:
        raise UsageError("give at least one IP address")
    out: list[IP] = []
    for text in texts:
        addr = ip(text, name)
        if addr in out:
            raise UsageError(f'IP "{text}" is given twice')
        out.append(addr)
    return tuple(out)


def port(value: int | str, flag: str = "--port") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f'{flag} "{value}" is not a port number: give 1 to 65535') from None
    if not 1 <= number <= 65535:
        raise UsageError(f"{flag} {number} is out of range: give 1 to 65535")
    return number


def protocol(value: str) -> str:
    lower = value.lower()
    if lower not in PROTOCOLS:
        raise UsageError(f'--protocol "{value}" is not one of {", ".join(PROTOCOLS)} '
                         "(Istio's port naming)")
    return lower


def tls_mode(value: str) -> str | None:
    """A DestinationRule TLS mode, or None for `none` (no DestinationRule)."""
    upper = value.upper()
    if upper == "NONE":
        return None
    if upper == "MUTUAL":
        raise UsageError("--tls-mode MUTUAL needs client certificates, which kubectl-egress does "
                         "not manage; use DISABLE or SIMPLE, or write the DestinationRule yourself")
    if upper not in TLS_MODES:
        raise UsageError(f'--tls-mode "{value}" is not one of {", ".join(TLS_MODES)} or none')
    return upper


def endpoints_api(value: str) -> str:
    lower = value.lower()
    if lower not in ENDPOINTS_APIS:
        raise UsageError(f'--api "{value}" is not one of {", ".join(ENDPOINTS_APIS)}')
    return lower


def istio_mode(value: str) -> str:
    lower = value.lower()
    if lower not in ISTIO_MODES:
        raise UsageError(f'--istio-mode "{value}" is not one of {", ".join(ISTIO_MODES)}')
    return lower


def duration(text: str, flag: str = "--request-timeout") -> float:
    """kubectl's duration flags: `0` (none), plain seconds, or Go units such as `1m30s`."""
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return float(raw)
    match = re.fullmatch(r"((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+", raw)
    if not match:
        raise UsageError(f'invalid argument "{text}" for "{flag}": give a duration such as 10s, '
                         "1m or 0 (no limit)")
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(float(num) * units[unit] for num, _, unit in
               re.findall(r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", raw))
