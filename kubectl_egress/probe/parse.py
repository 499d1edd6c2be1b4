"""The script's output, split into one Outcome per check (pure)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .checks import bracket

ISTIO_METRICS = ("istio_requests_total", "istio_tcp_connections_opened_total")


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
    certs: str = ""  # curl's %{certs}: the server's certificates, for a handshake check

    @property
    def cert_names(self) -> list[str]:
        """The names the server's own (first) certificate holds: its DNS subject alternative
        names, else its subject's CN."""
        subject, sans = "", ""
        for line in self.certs.splitlines():
            if line.startswith("Subject:") and not subject:
                subject = line[len("Subject:"):]
            elif line.startswith("X509v3 Subject Alternative Name:") and not sans:
                sans = line.split(":", 1)[1]
            elif line.startswith("-----END CERTIFICATE-----"):
                break
        names = [part.strip()[4:] for part in sans.split(",") if part.strip().startswith("DNS:")]
        if names:
            return names
        cn = re.search(r"(?:^|,)\s*CN\s*=\s*([^,]+)", subject)
        return [cn.group(1).strip()] if cn else []


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
        elif section == "certs":
            current.certs = text
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
            current.remote = f"{bracket(ip)}:{port}" if ip else ""
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
