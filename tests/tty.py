"""Run a command on a pseudo-terminal of a given size, as tmux or a terminal window runs it.

The command's stdin and stdout are the terminal (so it sees a tty and its window size, with
TIOCGWINSZ), stderr is a pipe (or the terminal too, as in a terminal window); what the terminal
received is returned with the line discipline's \\r\\n turned back into \\n.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

from tests.conftest import Result

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_on_terminal(argv: list[str], columns: int, env: dict[str, str], rows: int = 50,
                    timeout: float = 60, stderr_on_terminal: bool = False) -> Result:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    try:
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, env=env,
                                stderr=slave if stderr_on_terminal else subprocess.PIPE)
    finally:
        os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                raise TimeoutError(f"{argv} still running after {timeout}s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the slave side has closed it
                break
            if not data:
                break
            chunks.append(data)
        err = proc.stderr.read() if proc.stderr else b""
        code = proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.stderr:
            proc.stderr.close()
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    return Result(code, out, err.decode())


def visible(text: str) -> str:
    """What the terminal shows: the text without its colours."""
    return ANSI.sub("", text)
