"""The state one invocation shares: flags as given, where output goes, the connection.

Commands receive an `App`; they never read flags or the environment
themselves. The connection is made on first use, so --help, `version
--client`, completion and argument errors never load the kubernetes client.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from . import validate
from .kubeconfig import ConnectionFlags, KubeContext, resolve
from .printers import Printer


@dataclass
class App:
    flags: ConnectionFlags = field(default_factory=ConnectionFlags)
    verbosity: int = 0
    printer: Printer = field(default_factory=Printer)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _context: KubeContext | None = field(default=None, repr=False)
    _kube: object | None = field(default=None, repr=False)

    @classmethod
    def from_raw(cls, raw: Mapping[str, object], printer: Printer | None = None,
                 environ: Mapping[str, str] | None = None) -> "App":
        """Flags from the command line (values that were given) -> App; bad values exit 2."""
        timeout = raw.get("request_timeout")
        if raw.get("namespace"):
            validate.namespace(str(raw["namespace"]))
        flags = ConnectionFlags(
            kubeconfig=raw.get("kubeconfig"), context=raw.get("context"),  # type: ignore[arg-type]
            cluster=raw.get("cluster"), user=raw.get("user"),  # type: ignore[arg-type]
            namespace=raw.get("namespace"),  # type: ignore[arg-type]
            request_timeout=validate.duration(str(timeout)) if timeout is not None else None)
        return cls(flags=flags, verbosity=int(raw.get("v") or 0), printer=printer or Printer(environ=environ),
                   environ=environ if environ is not None else os.environ)

    @property
    def context(self) -> KubeContext:
        if self._context is None:
            self._context = resolve(self.flags, self.environ)
        return self._context

    def kube(self):
        """The connection (kube.Kube), made once."""
        if self._kube is None:
            from .kube import Kube  # loads the kubernetes client

            self._kube = Kube(self.context, verbosity=self.verbosity, warn=self.printer.warn)
        return self._kube
