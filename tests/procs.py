"""This machine's processes, read from /proc: the local cluster runs its pods' processes here, so a
test can see what a probe left running."""
from __future__ import annotations

import os
from typing import Iterator


def command_lines() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, argv) of every process but this one; those that end while being read are skipped."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        yield int(entry), argv


def holding(text: str) -> list[int]:
    """The processes one of whose arguments holds text."""
    return [pid for pid, argv in command_lines() if any(text.encode() in arg for arg in argv)]
