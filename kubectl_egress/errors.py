"""The plugin's errors: each carries the one line to print and the exit code.

Bad arguments exit 2 (as click's usage errors); refusals and failures exit 1.
`cli.main` is the only place that prints them.
"""
from __future__ import annotations


class EgressError(Exception):
    """A failure to report as one line on stderr."""

    exit_code = 1

    def __init__(self, message: str, *, prefix: str = "error: ") -> None:
        super().__init__(message)
        self.message = message
        self.prefix = prefix

    def line(self) -> str:
        return f"{self.prefix}{self.message}"


class UsageError(EgressError):
    """Bad input: a flag or argument the user can fix. Exit 2, nothing changed."""

    exit_code = 2


class ServerError(EgressError):
    """The API server refused or failed a request (kubectl's `Error from server (Reason): ...`)."""

    def __init__(self, message: str, *, reason: str = "", code: int = 0, status: dict | None = None,
                 prefix: str | None = None) -> None:
        if prefix is None:
            prefix = f"Error from server ({reason}): " if reason else "Error from server: "
        super().__init__(message, prefix=prefix)
        self.reason = reason
        self.code = code
        self.status = status or {}


class ConnectError(EgressError):
    """The API server could not be reached (kubectl's wording)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, prefix="")
