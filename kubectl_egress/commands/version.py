"""kubectl egress version [--client]: the plugin's version and, when reachable, the server's."""
from __future__ import annotations

from dataclasses import dataclass

from .. import __version__, printers
from ..app import App


@dataclass(frozen=True)
class Options:
    client: bool = False
    output: str | None = None


def run(app: App, opts: Options) -> int:
    info: dict = {"clientVersion": {"gitVersion": f"v{__version__}"}}
    error = None
    if not opts.client:
        try:
            info["serverVersion"] = app.kube().server_version()
        except Exception as err:  # still print the client version, as kubectl does
            error = err
    if opts.output in ("yaml", "json"):
        app.printer.text(printers.format_json(info) if opts.output == "json" else printers.format_yaml(info))
    else:
        app.printer.line(f"Client Version: {info['clientVersion']['gitVersion']}")
        if "serverVersion" in info:
            app.printer.line(f"Server Version: {info['serverVersion'].get('gitVersion', '')}")
    if error is not None:
        raise error
    return 0
