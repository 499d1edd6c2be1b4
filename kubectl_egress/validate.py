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

    A URL, an IP or `host:port` gets a hint with what to type instead. Surrounding
    whitespace is refused, not trimmed: the API server would refuse it too.
    """
    raw = text.strip()
    if raw != text:
        raise UsageError(f'{label} "{text}" has spaces around it; give it without them, e.g. "{raw}"'
                         if raw else f'{label} is empty; give a host name (e.g. httpbin.org)')
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
    if raw != text:
        raise UsageError(f'IP "{text}" has spaces around it; give it without them, e.g. "{raw}"'
                         if raw else "IP is empty; give an address (e.g. 198.35.26.96)")
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


GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
            "h": 3600.0}
GO_DURATION = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+")
GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def go_duration(text: str) -> float | None:
    """Go's time.ParseDuration in seconds (`1h30m`, `.5s`, `1.5m`, `-2s`, `0`), or None when Go
    rejects it."""
    if text in ("0", "+0", "-0"):
        return 0.0
    if not GO_DURATION.fullmatch(text):
        return None
    seconds = sum(float(number) * GO_UNITS[unit] for number, unit in GO_PART.findall(text))
    return -seconds if text.startswith("-") else seconds


def duration(text: str, flag: str = "--request-timeout") -> float:
    """kubectl's duration flags (clientcmd ParseTimeout): whole seconds (`30`), or a Go duration
    (`10s`, `1m30s`, `.5s`); 0 means no limit. A negative one is refused."""
    raw = text.strip()
    seconds = float(int(raw)) if re.fullmatch(r"[-+]?\d+", raw) and int(raw) >= 0 else go_duration(raw)
    if seconds is None or seconds < 0:
        raise UsageError(f'invalid argument "{text}" for "{flag}": give a duration such as 10s, '
                         "1m or 0 (no limit)")
    return seconds


# apimachinery labels.Parse (k8s.io/apimachinery/pkg/labels/selector.go): its tokens and grammar
_SELECTOR_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)\s*")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_OPERATORS = ("=", "==", "!=", "in", "notin", ">", "<")


def label_selector(text: str) -> str:
    """A label selector in kubectl's -l syntax (`app=web`, `tier!=db`, `env in (a,b)`, `!canary`),
    checked as apimachinery's labels.Parse checks it, so a bad one never reaches the server."""
    def bad(why: str) -> UsageError:
        return UsageError(f'-l "{text}" is not a label selector: {why} (e.g. -l app=web or '
                          "-l 'env in (prod,staging)')")

    # every character but white space is a token or part of one; white space alone is the empty
    # selector (the lexer skips it to EndOfStringToken, and parse ends there with no requirement)
    tokens = [match.group(1) for match in _SELECTOR_TOKEN.finditer(text)]

    def key(token: str) -> None:  # validation.IsQualifiedName: [prefix/]name, prefix a DNS-1123 subdomain
        prefix, _, name = token.rpartition("/")
        if not _LABEL_KEY.match(token) or len(name) > 63 or len(prefix) > 253:
            raise bad(f"{token!r} is not a label key")

    def value(token: str) -> None:
        if len(token) > 63 or not _LABEL_VALUE.match(token):
            raise bad(f"{token!r} is not a label value")

    i = 0
    while i < len(tokens):
        if tokens[i] == "!":
            if i + 1 >= len(tokens):
                raise bad("'!' must be followed by a label key")
            key(tokens[i + 1])
            i += 2
        else:
            key(tokens[i])
            i += 1
            op = tokens[i] if i < len(tokens) and tokens[i] != "," else ""
            if op in ("=", "==", "!="):
                i += 1
                if i < len(tokens) and tokens[i] not in (",", "(", ")") + _OPERATORS:
                    value(tokens[i])
                    i += 1
            elif op in ("in", "notin"):
                if i + 1 >= len(tokens) or tokens[i + 1] != "(":
                    raise bad(f"'{op}' must be followed by values in parentheses")
                i += 2
                while i < len(tokens) and tokens[i] != ")":
                    if tokens[i] != ",":
                        value(tokens[i])
                    i += 1
                if i >= len(tokens):
                    raise bad("a ')' is missing")
                i += 1
            elif op in (">", "<"):
                if i + 1 >= len(tokens) or not re.fullmatch(r"-?\d+", tokens[i + 1]):
                    raise bad(f"'{op}' must be followed by a whole number")
                i += 2
            elif op:
                raise bad(f"found {op!r} where '=', '!=', 'in' or 'notin' belongs")
        if i < len(tokens):
            if tokens[i] != ",":
                raise bad(f"found {tokens[i]!r} where a ',' belongs")
            i += 1
    return text


def host_override(text: str) -> tuple[str, str]:
    """`probe --host NAME=HOST`: the host name clients use for egress service NAME."""
    name, sep, host_name = text.partition("=")
    if not sep or not name:
        raise UsageError(f'--host "{text}" must be NAME=HOST, e.g. --host my-wikipedia=en.wikipedia.org')
    return service_name(name), host(host_name, name, "--host")


def container_name(name: str) -> str:
    """-c: a container name (a DNS-1123 label), and never istio-proxy, whose own traffic Istio's
    rules exempt from the sidecar (istio-iptables `-m owner --uid-owner 1337 -j RETURN`)."""
    if len(name) > 63 or not DNS1123_LABEL.match(name):
        raise UsageError(f'-c "{name}" is not a valid container name: use lower case letters, digits and '
                         "'-', at most 63 characters")
    if name == "istio-proxy":
        raise UsageError("-c istio-proxy: the proxy's own traffic (UID 1337) bypasses the sidecar, so the probe "
                         "would check the wrong path; leave -c out, or name the application's container")
    return name


# distribution/reference regexp.go ReferenceRegexp: [domain[:port]/]path[:tag][@digest]
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
                             r"(?::[\w][\w.-]{0,127})?"
                             r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def image(reference: str) -> str:
    """--image: an image reference, checked as kubectl debug checks it (reference.ReferenceRegexp)."""
    if not IMAGE_REFERENCE.match(reference):
        raise UsageError(f'invalid image name "{reference}": invalid reference format (e.g. '
                         "registry.example.com/curlimages/curl:8.11.1)")
    return reference
