"""The state one invocation shares: flags as given, where output goes, the connection.

Commands receive an `App`; they never read flags or the environment
themselves. The connection is made on first use, so --help, `version
--client`, completion and argument errors never load the kubernetes client.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
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
    warnings_as_errors: bool = False
    cache_dir: str | None = None  # --cache-dir (else KUBECACHEDIR, else ~/.kube/cache)
    _context: KubeContext | None = field(default=None, repr=False)
    _kube: object | None = field(default=None, repr=False)

    @classmethod
    def from_raw(cls, raw: Mapping[str, object], printer: Printer | None = None,
                 environ: Mapping[str, str] | None = None) -> "App":
        """Flags from the command line (values that were given) -> App; bad values exit 2."""
        timeout = raw.get("request_timeout")
        if raw.get("namespace"):
            validate.namespace(str(raw["namespace"]))
        text = {key: str(raw[key]) if raw.get(key) not in (None, "") else None
                for key in ("kubeconfig", "context", "cluster", "user", "namespace", "server", "tls_server_name",
                            "certificate_authority", "client_certificate", "client_key", "token", "username",
                            "password", "as", "as_uid")}
        flags = ConnectionFlags(
            kubeconfig=text["kubeconfig"], context=text["context"], cluster=text["cluster"], user=text["user"],
            namespace=text["namespace"],
            request_timeout=validate.duration(str(timeout)) if timeout is not None else None,
            server=text["server"], tls_server_name=text["tls_server_name"],
            certificate_authority=text["certificate_authority"],
            insecure_skip_tls_verify=bool(raw.get("insecure_skip_tls_verify")),
            disable_compression=bool(raw.get("disable_compression")),
            client_certificate=text["client_certificate"], client_key=text["client_key"], token=text["token"],
            username=text["username"], password=text["password"], impersonate=text["as"],
            impersonate_groups=tuple(str(g) for g in raw.get("as_group") or ()),  # type: ignore[union-attr]
            impersonate_uid=text["as_uid"])
        return cls(flags=flags, verbosity=int(raw.get("v") or 0), printer=printer or Printer(environ=environ),  # type: ignore[call-overload]
                   environ=environ if environ is not None else os.environ,
                   warnings_as_errors=bool(raw.get("warnings_as_errors")),
                   cache_dir=str(raw["cache_dir"]) if raw.get("cache_dir") else None)

    @property
    def context(self) -> KubeContext:
        if self._context is None:
            self._context = resolve(self.flags, self.environ)
        return self._context

    def kube(self):
        """The connection (kube.Kube), made once."""
        if self._kube is None:
            from .discovery import cache_dir
            from .kube import Kube  # the HTTP stack, loaded only when a command talks to the cluster

            self._kube = Kube(self.context, verbosity=self.verbosity, warn=self.printer.warn,
                              environ=self.environ,
                              cache_dir=Path(self.cache_dir) if self.cache_dir else cache_dir(self.environ))
        return self._kube

    def warning_count(self) -> int:
        """The server warnings printed so far (0 when the cluster was never contacted)."""
        return self._kube.warning_count if self._kube is not None else 0  # type: ignore[attr-defined]
