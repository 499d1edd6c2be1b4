"""`serviceentry` arguments checked by Istio's own rules, so that Istio never refuses what we send.

Pure functions, no I/O. The rules are those of istio pkg/config/validation/validation.go
`ValidateServiceEntry` and `validateExportTo`, with the helpers of validation/agent
(`ValidateWildcardDomain`, `ValidatePartialWildCard`, `ValidateFQDN`, `ValidateIPSubnet`) and
pkg/config/visibility; where Istio only warns (a partial wildcard, a TCP port without
addresses) the warning is returned for the command to print, or refused when Istio calls it
"not allowed". Each message says what to type instead.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .errors import UsageError
from .model import LOCATIONS, RESOLUTIONS, Origination

DNS1123_LABEL = re.compile(r"^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$")  # pkg/config/labels, any case
WILDCARD_LABEL = re.compile(r"^(\*|(\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$")
NAMESPACE_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
EXAMPLE = "kubectl egress serviceentry NAME"


def _labels_ok(domain: str) -> str:
    """ValidateDNS1123Labels: '' when fine, else why not."""
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f'top level domain "{parts[-1]}" cannot be all-numeric'
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return ""  # a trailing dot: `istio.io.`
        if len(label) > 63 or not DNS1123_LABEL.match(label):
            return f'label "{label}" is not valid'
    return ""


def host(text: str, name: str = "NAME") -> str:
    """One ServiceEntry host: a DNS name, `*.` wildcards allowed in the first label."""
    raw = text
    if "://" in raw:
        parts = urlsplit(raw)
        bare = (parts.hostname or "HOST").rstrip(".")
        port = parts.port or {"https": 443}.get(parts.scheme.lower())
        flags = (f" --port {port}" if port and port != 80 else "") + \
            (" --protocol https" if parts.scheme.lower() == "https" else "")
        raise UsageError(f'HOST "{text}" is a URL; give the host name alone, e.g. '
                         f'"kubectl egress serviceentry {name} {bare}{flags}"')
    if raw == "*":
        raise UsageError('HOST "*" is not allowed in a ServiceEntry (Istio: invalid host *); name the hosts, '
                         'e.g. "*.example.com"')
    try:
        ipaddress.ip_address(raw.strip("[]"))
        raise UsageError(f'HOST "{text}" is an IP address; a ServiceEntry host is a name: give the IP with '
                         f'--addresses {raw.strip("[]")} (and a name such as {name}.example as HOST)')
    except ValueError:
        pass
    match = re.fullmatch(r"([^:/\s]+):(\d+)", raw)
    if match:
        raise UsageError(f'HOST "{text}" includes a port; use HOST "{match.group(1)}" with --port {match.group(2)}')
    if not raw or len(raw) > 255:
        raise UsageError(f'HOST "{text}" is not a valid host name: give 1 to 255 characters (e.g. httpbin.org)')
    first, _, rest = raw.partition(".")
    why = "" if len(first) <= 63 and WILDCARD_LABEL.match(first) else f'label "{first}" is not valid'
    if not why and rest:
        why = _labels_ok(rest)
    if why:
        raise UsageError(f'HOST "{text}" is not a valid host name ({why}): use letters, digits, "-" and ".", '
                         'with "*." only at the start (e.g. httpbin.org, *.example.com)')
    if "*" in raw and not raw.startswith("*."):
        # Istio warns "partial wildcard not allowed" (ValidatePartialWildCard)
        raise UsageError(f'HOST "{text}": partial wildcards are not allowed by Istio; use a whole first label, '
                         f'e.g. "*.{rest or "example.com"}"')
    return raw.rstrip(".").lower()


def hosts(texts: tuple[str, ...] | list[str], name: str, resolution: str, with_endpoints: bool) -> tuple[str, ...]:
    if not texts:
        raise UsageError(f'give at least one HOST, e.g. "kubectl egress serviceentry {name} httpbin.org"')
    out: list[str] = []
    for text in texts:
        found = host(text, name)
        if found in out:
            raise UsageError(f'HOST "{text}" is given twice')
        out.append(found)
    if resolution == "DNS" and not with_endpoints:
        wild = next((h for h in out if "*" in h), None)
        if wild:
            raise UsageError(f'HOST "{wild}" is a wildcard, which DNS resolution cannot look up (Istio: hosts must be '
                             "FQDN if no endpoints are provided for resolution mode DNS); use --resolution NONE")
    return tuple(out)


def resolution(value: str) -> str:
    upper = value.upper()
    if upper not in RESOLUTIONS:
        raise UsageError(f'--resolution "{value}" is not one of {", ".join(RESOLUTIONS)}')
    return upper


def location(value: str) -> str:
    upper = value.upper().replace("-", "_")
    if upper not in LOCATIONS:
        raise UsageError(f'--location "{value}" is not one of {", ".join(LOCATIONS)}')
    return upper


def split(values: tuple[str, ...] | list[str]) -> list[str]:
    """Repeated flags and comma-separated lists alike: `--addresses a,b --addresses c`."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def addresses(values: list[str], res: str) -> tuple[str, ...]:
    """ServiceEntry addresses: IPs or CIDR blocks (ValidateIPSubnet); CIDRs only for NONE/STATIC."""
    out = []
    for text in values:
        try:
            if "/" in text:
                net = ipaddress.ip_network(text, strict=False)
                if res not in ("NONE", "STATIC"):
                    raise UsageError(f'--addresses "{text}" is a CIDR block, which Istio allows only with '
                                     f"--resolution NONE or STATIC (it is {res})")
                out.append(f"{text.split('/')[0]}/{net.prefixlen}")
            else:
                out.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise UsageError(f'--addresses "{text}" is not an IP address or CIDR block (e.g. 203.0.113.7 or '
                             "203.0.113.0/24)") from None
    return tuple(dict.fromkeys(out))


def endpoints(values: list[str], res: str) -> tuple[str, ...]:
    """Endpoint addresses: none for NONE, IPs for STATIC, IPs or names for DNS (validateWorkloadEntry)."""
    if values and res == "NONE":
        raise UsageError("--endpoints cannot be used with --resolution NONE (Istio: no endpoints should be "
                         "provided for resolution type none); use --resolution STATIC or DNS")
    out = []
    for text in values:
        try:
            out.append(str(ipaddress.ip_address(text)))
            continue
        except ValueError:
            pass
        if res == "STATIC":
            raise UsageError(f'--endpoints "{text}" is not an IP address, which --resolution STATIC needs; use '
                             "--resolution DNS for names")
        if _labels_ok(text) or not text or len(text) > 255:
            raise UsageError(f'--endpoints "{text}" is not a valid FQDN or IP address')
        out.append(text.rstrip(".").lower())
    return tuple(dict.fromkeys(out))


def export_to(values: list[str], namespace: str) -> tuple[str, ...]:
    """exportTo: `.`, `*`, `~` alone, or namespaces (validateExportTo, visibility.Instance.Validate)."""
    seen: set[str] = set()
    for value in values:
        key = namespace if value == "." else value
        if key in seen:
            same = ' ("." is this namespace)' if key == namespace and "." in values else ""
            raise UsageError(f'--export-to "{value}" is given twice{same}')
        if value not in (".", "*", "~") and (len(value) > 63 or not NAMESPACE_LABEL.match(value)):
            raise UsageError(f'--export-to "{value}" is not ".", "*", "~" or a namespace name')
        seen.add(key)
    if "*" in values and len(values) > 1:
        raise UsageError('--export-to "*" already means every namespace; give it alone')
    if "~" in values and len(values) > 1:
        raise UsageError('--export-to "~" (no one) cannot be combined with other namespaces')
    return tuple(values)


def shape(name: str, hosts_: tuple[str, ...], protocol: str, res: str, addrs: tuple[str, ...],
          origination: Origination | None, port: int) -> list[str]:
    """The checks across flags; returns Istio's warnings (the command prints them)."""
    tcp = protocol not in ("http", "https", "tls", "grpc", "http2")
    if len(hosts_) > 1 and tcp and res != "NONE":
        raise UsageError("several HOSTs on a tcp port cannot be told apart (Istio: multiple hosts provided with "
                         "non-HTTP, non-TLS ports); give one HOST, or --resolution NONE")
    if origination is not None:
        if protocol != "http":
            raise UsageError(f"--tls-origination makes the sidecar speak TLS for an app that speaks plain HTTP; "
                             f"--protocol {protocol} says the app already speaks it, and TLS twice fails with "
                             "'wrong version number' (istio#36377); drop --protocol or --tls-origination")
        if len(hosts_) != 1 or "*" in hosts_[0]:
            raise UsageError("--tls-origination needs exactly one HOST, and not a wildcard: the certificate is "
                             "checked against it")
        if res == "NONE":
            raise UsageError("--tls-origination needs --resolution DNS or STATIC: with NONE the sidecar connects "
                             f"to the address the app called, on port {port}, and cannot move to port "
                             f"{origination.target_port}")
    warnings = []
    if res == "DNS" and addrs and len(hosts_) > 1 and protocol in ("tcp", "https", "tls"):
        warnings.append("Warning: Istio: service entry can not have more than one host specified simultaneously "
                        "with address and tcp port")
    if tcp and not addrs:
        warnings.append(f"Warning: a tcp port without --addresses captures nothing the sidecar can tell apart "
                        f"(Istio: addresses are required for ports serving TCP protocol, IST0134); give "
                        f"--addresses, or --protocol tls if {hosts_[0]} speaks TLS")
    return warnings
