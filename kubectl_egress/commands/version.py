"""kubectl egress version [--client]: the plugin's version and, when reachable, the server's and Istio's.

The Istio line says which ExternalName mode the default revision's istiod uses, and why (its
version, its ENABLE_EXTERNAL_NAME_ALIAS, or that 1.24 no longer reads the flag). Lines follow only
for what differs from a single sidecar mesh that allows any outbound traffic: other revisions
(canary upgrades), revision tags, a REGISTRY_ONLY outbound policy, and ambient's ztunnel.
"""
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


def extra_lines(facts, mesh) -> list[str]:
    """What a single ALLOW_ANY sidecar mesh would not show: revisions, tags, policy, ambient."""
    if facts is None or not mesh.istio:
        return []
    lines = []
    default = facts.default
    for rev in sorted(facts.revisions.values(), key=lambda r: r.name):
        if rev is not default:
            lines.append(f"Istio revision {rev.name}: {rev.version or 'unknown version'}, {rev.mode} mode "
                         f"({rev.reason})")
    for tag, rev in sorted(facts.tags.items()):
        lines.append(f"Istio revision tag {tag}: revision {rev}")
    for rev in sorted(facts.revisions.values(), key=lambda r: r.name):
        policy = facts.policy("", revision=rev)  # a namespace with no Sidecar of its own
        if policy is not None and policy.registry_only:
            who = "" if len(facts.revisions) == 1 else f" (revision {rev.name})"
            lines.append(f"Outbound traffic policy{who}: {policy.mode}, from the {policy.source}: sidecars reach "
                         "only services in their registry (Kubernetes Services and ServiceEntries)")
    if facts.ambient is not None:
        lines.append(f"Ambient: ztunnel {facts.ambient.version or '(unknown version)'} "
                     f"(DaemonSet {facts.ambient.where}); it sends no Istio mTLS to hosts outside the mesh "
                     "and does not enforce REGISTRY_ONLY (istio#54281)")
    return lines


def as_dict(facts, mesh) -> dict:
    info = {"installed": mesh.istio, "version": mesh.version, "mode": mesh.mode,
            "networkingVersion": mesh.networking_version if mesh.served else "", "source": mesh.source}
    if facts is not None and mesh.istio:
        info["revisions"] = [{"name": r.name, "istiod": r.istiod, "version": r.version, "mode": r.mode,
                              "source": r.reason, "outboundTrafficPolicy": r.outbound,
                              "outboundTrafficPolicySource": r.outbound_source}
                             for r in sorted(facts.revisions.values(), key=lambda r: r.name)]
        info["tags"] = dict(sorted(facts.tags.items()))
        info["ambient"] = {"installed": facts.ambient is not None,
                           "ztunnelVersion": facts.ambient.version if facts.ambient else ""}
    return info


def run(app: App, opts: Options) -> int:
    info: dict = {"clientVersion": {"gitVersion": f"v{__version__}"}}
    error = None
    lines: list[str] = []
    if not opts.client:
        try:
            from .. import mesh as meshes

            kube = app.kube()
            info["serverVersion"] = kube.server_version()
            facts = meshes.read(kube)
            mesh = facts.mesh()
            info["istio"] = as_dict(facts, mesh)
            lines = [f"Istio: {istio_line(mesh)}", *extra_lines(facts, mesh)]
        except Exception as err:  # still print the client version, as kubectl does
            error = err
    if opts.output in ("yaml", "json"):
        app.printer.text(printers.format_json(info) if opts.output == "json" else printers.format_yaml(info))
    else:
        app.printer.line(f"Client Version: {info['clientVersion']['gitVersion']}")
        if "serverVersion" in info:
            app.printer.line(f"Server Version: {info['serverVersion'].get('gitVersion', '')}")
        for line in lines:
            app.printer.line(line)
    if error is not None:
        raise error
    return 0
