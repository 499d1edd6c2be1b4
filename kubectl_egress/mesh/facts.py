"""MeshFacts: what the cluster runs of Istio, per namespace and per pod, read once per command.

The one value recipes, the probe and check take (detect.read makes it): the control planes
(revisions, their versions, ExternalName modes and mesh configs), revision tags, whether ambient
runs (ztunnel), the namespaces read and the Sidecar resources. Every question below is answered
from those, without I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Mesh
from .dataplane import AMBIENT, SIDECAR, NamespaceMode, PodMode, namespace_mode, pod_mode
from .istiod import DEFAULT_REVISION, Revision, release
from .policy import MeshConfig, Policy, outbound_policy, sidecar_in_force


@dataclass(frozen=True)
class Ambient:
    """ztunnel, the node proxy of ambient mode (DaemonSet istio-system/ztunnel)."""

    version: str = ""
    where: str = "istio-system/ztunnel"


@dataclass(frozen=True)
class PodFacts:
    """One pod's data plane, the control plane behind it, and its outbound policy."""

    mode: PodMode
    namespace: NamespaceMode
    revision: Revision | None = None  # the control plane that configures its sidecar
    asked: Revision | None = None  # the one its namespace asks for now
    policy: Policy | None = None  # sidecar pods only (ztunnel has no outbound policy, istio#54281)

    @property
    def dataplane(self) -> str:
        return self.mode.dataplane

    @property
    def stale_revision(self) -> bool:
        """Injected by another revision than the one its namespace now asks for (a pod not restarted
        since the namespace was moved, as in a canary upgrade)."""
        return (self.dataplane == SIDECAR and self.namespace.dataplane == SIDECAR and self.asked is not None
                and self.mode.revision != self.asked.name)


@dataclass
class MeshFacts:
    networking_version: str | None = None  # preferred networking.istio.io version; None: not served
    revisions: dict[str, Revision] = field(default_factory=dict)
    configs: dict[str, MeshConfig] = field(default_factory=dict)  # by revision
    tags: dict[str, str] = field(default_factory=dict)  # revision tag -> revision
    tags_known: bool = False  # the tag webhooks could be read
    istiod_known: bool = True  # istio-system's Deployments could be read
    ambient: Ambient | None = None
    namespaces: dict[str, dict | None] = field(default_factory=dict)  # read; None: does not exist
    sidecars: list[dict] = field(default_factory=list)  # Sidecar resources of the namespaces read and the root
    override: str = "auto"  # --istio-mode

    # -- control planes ------------------------------------------------------------------------
    def resolve(self, name: str) -> Revision | None:
        """A revision by its name or by a revision tag that points at it."""
        if name in self.revisions:
            return self.revisions[name]
        if name in self.tags:
            return self.revisions.get(self.tags[name])
        return None

    def exists(self, name: str) -> bool | None:
        """Is there such a revision or tag? None when it cannot be told (istiod or tags unreadable)."""
        if self.resolve(name) is not None or name in self.tags:
            return True
        return False if self.istiod_known and self.tags_known else None

    @property
    def default(self) -> Revision | None:
        """The revision `istio-injection=enabled` picks (the `default` revision, or the one the
        `default` tag points at), else the only one there is."""
        found = self.resolve(DEFAULT_REVISION)
        if found is None and len(self.revisions) == 1:
            found = next(iter(self.revisions.values()))
        return found

    # -- namespaces and pods ---------------------------------------------------------------------
    def namespace_exists(self, name: str) -> bool | None:
        """True/False when the namespace was read, None when it was not (no permission, say)."""
        return None if name not in self.namespaces else self.namespaces[name] is not None

    def namespace(self, name: str) -> NamespaceMode:
        if name not in self.namespaces:
            return NamespaceMode(name)  # not read (no permission): nothing asked that we know of
        return namespace_mode(self.namespaces[name], name)

    def revision_for(self, namespace: str) -> Revision | None:
        """The control plane of the namespace's sidecars; for other namespaces, the default one."""
        mode = self.namespace(namespace)
        if mode.dataplane == SIDECAR:
            return self.resolve(mode.revision)
        return self.default

    def policy(self, namespace: str, labels: dict[str, str] | None = None,
               revision: Revision | None = None) -> Policy | None:
        """The outbound policy of a sidecar workload in namespace (labels None: the namespace's
        default), configured by revision (default: the namespace's); None when no istiod is known."""
        rev = revision or self.revision_for(namespace)
        if rev is None:
            return None
        config = self.configs.get(rev.name, MeshConfig(readable=False))
        sidecar = sidecar_in_force(self.sidecars, namespace, labels, config.root_namespace)
        return outbound_policy(config, f"{rev.root_namespace}/{rev.mesh_configmap}", sidecar)

    def pod(self, pod: dict) -> PodFacts:
        meta = pod.get("metadata") or {}
        ns = meta.get("namespace", "")
        mode = pod_mode(pod)
        ns_mode = self.namespace(ns)
        asked = self.resolve(ns_mode.revision) if ns_mode.dataplane == SIDECAR else None
        if mode.dataplane != SIDECAR:
            return PodFacts(mode, ns_mode, None, asked)
        rev = self.resolve(mode.revision)
        policy = self.policy(ns, meta.get("labels") or {}, rev) if rev is not None else None
        return PodFacts(mode, ns_mode, rev, asked, policy)

    @property
    def ambient_installed(self) -> bool:
        return self.ambient is not None

    def ambient_namespace(self, name: str) -> bool:
        return self.namespace(name).dataplane == AMBIENT

    # -- the cluster-level summary the recipes started from ----------------------------------------
    def mesh(self, namespace: str | None = None) -> Mesh:
        """The Mesh (mode and version) of the namespace's control plane, carrying these facts."""
        if self.networking_version is None or self.override == "none":
            source = "--istio-mode none" if self.override == "none" else "networking.istio.io is not served"
            return Mesh(False, self.networking_version or "v1", "none", "", source,
                        self.networking_version is not None, facts=self)
        rev = self.revision_for(namespace) if namespace is not None else self.default
        why = ""
        if rev is None and self.revisions and (namespace is None or self.namespace(namespace).dataplane != SIDECAR):
            rev = max(self.revisions.values(), key=lambda r: release(r.version))
            why = "; no default revision, so the newest"
        if self.override in ("legacy", "alias"):
            return Mesh(True, self.networking_version, self.override, rev.version if rev else "",
                        f"--istio-mode {self.override}", facts=self)
        if rev is None:
            # no istiod to go by: networking v1 is served from 1.22, which treats ExternalName as an alias
            mode = "alias" if self.networking_version == "v1" else "legacy"
            asked = self.namespace(namespace).revision if namespace is not None and self.revisions else ""
            why_none = (f"namespace {namespace} asks for revision {asked}, which no istiod serves" if asked
                        else "istiod in istio-system could not be read")
            return Mesh(True, self.networking_version, mode, "",
                        f"guessed from networking.istio.io/{self.networking_version} ({why_none})", facts=self)
        return Mesh(True, self.networking_version, rev.mode, rev.version, rev.reason + why, facts=self)
