"""The probe's pure parts; commands/probe.py runs them. No I/O in this package.

- checks:  what to curl for each egress service, and the source pods (Check, Source)
- script:  the POSIX sh script one exec runs in a source pod, and its argv
- parse:   the script's output -> one Outcome per check
- verdict: did a check pass, and did a sidecar carry it
- hints:   why a check failed (Hint: the message, and apart from it the fixing command)
- ztunnel: ambient sources: ztunnel's counters as evidence of what carried each check
"""
from .checks import HANDSHAKE, HTTP_PROTOCOLS, TLS_PROTOCOLS, Check, Source, check_for, checks_for
from .hints import NO_HINT, Context, Hint, command_line, diagnose, handshake_note
from .parse import Outcome, parse
from .script import BODY_LIMIT, ERROR_LIMIT, MAX_PARALLEL, PARALLEL, SCRIPT, command
from .verdict import counted, echoed_headers, ok, originated, passthrough, redirect_to_https, sidecar_seen

__all__ = ["BODY_LIMIT", "ERROR_LIMIT", "HANDSHAKE", "HTTP_PROTOCOLS", "MAX_PARALLEL", "NO_HINT", "PARALLEL",
           "SCRIPT", "TLS_PROTOCOLS", "Check", "Context", "Hint", "Outcome", "Source", "check_for", "checks_for",
           "command", "command_line", "counted", "diagnose", "echoed_headers", "handshake_note", "ok", "originated",
           "parse", "passthrough", "redirect_to_https", "sidecar_seen"]
