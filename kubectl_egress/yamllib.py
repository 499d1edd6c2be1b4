"""PyYAML, imported without compiling what only its pure-Python reader uses.

Importing yaml compiles yaml/reader.py's Reader.NON_PRINTABLE, a character class
spanning all of Unicode: about 57 million instructions, more than a whole `get`
spends on its requests, TLS included. The C loader (CSafeLoader, what the
kubeconfig is read with) never uses that pattern; the pure-Python reader uses it
through `.search`. So it is compiled on first use instead: the same pattern,
the same results, paid only by a path that needs it.
"""
from __future__ import annotations

import re
import sys
import threading
from types import ModuleType
from typing import Any

_LOCK = threading.Lock()


class LazyPattern:
    """A compiled pattern made on first use; every attribute is the real Pattern's."""

    def __init__(self, compile_: Any, pattern: str, flags: int) -> None:
        self._args = (compile_, pattern, flags)
        self._compiled: re.Pattern | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            compile_, pattern, flags = self._args
            self._compiled = compile_(pattern, flags)
        return getattr(self._compiled, name)


def _is_reader_pattern(pattern: Any) -> bool:
    """yaml/reader.py's NON_PRINTABLE, recognised by its text: a negated class starting with tab,
    newline and return and reaching the last code point (any other pattern compiles as usual)."""
    return isinstance(pattern, str) and pattern.startswith("[^\x09\x0A\x0D") and pattern.endswith("\U0010ffff]")


def yaml() -> ModuleType:
    """The yaml module (C loader and dumper included, when PyYAML was built with libyaml)."""
    module = sys.modules.get("yaml")
    if module is not None:
        return module
    with _LOCK:
        compile_ = re.compile

        def lazy(pattern: Any, flags: int = 0) -> Any:
            if _is_reader_pattern(pattern) and threading.current_thread() is owner:
                return LazyPattern(compile_, pattern, flags)
            return compile_(pattern, flags)

        owner = threading.current_thread()
        re.compile = lazy  # type: ignore[assignment]
        try:
            import yaml as module
        finally:
            re.compile = compile_  # type: ignore[assignment]
    return module
