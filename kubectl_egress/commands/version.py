"""kubectl egress version [--client]: the plugin's version and, when reachable, the server's."""
from __future__ import annotations

from dataclasses import dataclass

from .. import __version__, printers
from ..app import App


@dataclass(frozen=True)
class Options:
    client: bool = False
    output: str | None = None


MODES = {"legacy": "an ExternalName Service is a mesh service: rules go on NAME.NAMESPACE.svc.cluster.local",
         "alias": "an ExternalName Service is a DNS alias: a ServiceEntry and rules go on the external host"}


def istio_line(mesh) -> str:
    if not mesh.istio:
        return f"not installed ({mesh.source})"
    version = mesh.version or "unknown version"
    return f"{version}, {mesh.mode} mode: {MODES[mesh.mode]} ({mesh.source})"


def run(app: App, opts: Options) -> int:
    info: dict = {"clientVersion": {"gitVersion": f"v{__version__}"}}
    error = None
    if not opts.client:
        try:
            from .. import mesh as meshes

            kube = app.kube()
            info["serverVersion"] = kube.server_version()
            mesh = meshes.detect(kube)
            info["istio"] = {"installed": mesh.istio, "version": mesh.version, "mode": mesh.mode,
                             "networkingVersion": mesh.networking_version if mesh.served else "",
                             "source": mesh.source}
        except Exception as err:  # still print the client version, as kubectl does
            error = err
    if opts.output in ("yaml", "json"):
        app.printer.text(printers.format_json(info) if opts.output == "json" else printers.format_yaml(info))
    else:
        app.printer.line(f"Client Version: {info['clientVersion']['gitVersion']}")
        if "serverVersion" in info:
            app.printer.line(f"Server Version: {info['serverVersion'].get('gitVersion', '')}")
        if "istio" in info:
            app.printer.line(f"Istio: {istio_line(mesh)}")
    if error is not None:
        raise error
    return 0
