"""The outbound traffic policy in force for a workload, as istiod computes it (pure).

- The mesh config of the workload's revision: ConfigMap `istio` (or `istio-<rev>`) in
  istio-system, key `mesh` (YAML), `outboundTrafficPolicy.mode`; Istio's default is ALLOW_ANY
  (pkg/config/mesh/mesh.go DefaultMeshConfig), and `rootNamespace` defaults to istio-system.
- A Sidecar resource overrides it (pilot/pkg/model/sidecar.go: the SidecarScope takes the
  Sidecar's outboundTrafficPolicy when it has one, else the mesh config's). Which Sidecar applies
  (pilot/pkg/model/push_context.go initSidecarScopes and doGetSidecarScope): in the workload's
  namespace, those with a workloadSelector whose labels are a subset of the workload's come
  first, then those without one, each group oldest first (creationTimestamp, then name); when
  the namespace has none, the root namespace's Sidecar without a selector.
- Under REGISTRY_ONLY a sidecar reaches only what is in its registry, which a Sidecar's egress
  hosts scope (pilot/pkg/model/sidecar.go, IstioEgressListenerWrapper.selectServices): hosts are
  `namespace/dnsName`, `.` the Sidecar's own namespace, `*` any, `~` an exclusion.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ALLOW_ANY = "ALLOW_ANY"
REGISTRY_ONLY = "REGISTRY_ONLY"
MODES = (ALLOW_ANY, REGISTRY_ONLY)


# a rootNamespace line other than the default one (the charts write `rootNamespace: istio-system`)
_ROOT_ELSEWHERE = re.compile(r"rootNamespace(?!:[ \t]*istio-system[ \t]*$)", re.MULTILINE)


@dataclass(frozen=True)
class MeshConfig:
    outbound: str = ALLOW_ANY
    root_namespace: str = "istio-system"
    readable: bool = True  # False: the ConfigMap was missing or not YAML (Istio's defaults assumed)


def mesh_config(text: str | None) -> MeshConfig:
    """The parts of a `mesh` text the plugin needs (istiod applies it over its defaults)."""
    if not text:
        return MeshConfig(readable=text is not None)
    if "outboundTrafficPolicy" not in text and not _ROOT_ELSEWHERE.search(text):
        return MeshConfig()  # nothing that differs from the defaults (and YAML's import is spared)
    import yaml  # lazily: only commands that read the mesh config pay for it

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return MeshConfig(readable=False)
    if not isinstance(data, dict):
        return MeshConfig(readable=False)
    mode = ((data.get("outboundTrafficPolicy") or {}).get("mode") or ALLOW_ANY)
    return MeshConfig(str(mode).upper() if str(mode).upper() in MODES else ALLOW_ANY,
                      str(data.get("rootNamespace") or "istio-system"))


def _selector(sidecar: dict) -> dict | None:
    return ((sidecar.get("spec") or {}).get("workloadSelector") or {}).get("labels") if \
        (sidecar.get("spec") or {}).get("workloadSelector") is not None else None


def _age(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("creationTimestamp") or "", meta.get("name", ""), meta.get("namespace", "")


def sidecar_in_force(sidecars: list[dict], namespace: str, labels: dict[str, str] | None,
                     root_namespace: str = "istio-system") -> dict | None:
    """The Sidecar resource that configures a workload (labels None: the namespace's default, as a
    workload no selector picks sees it), or None."""
    ordered = sorted(sidecars, key=_age)
    own = [s for s in ordered if (s.get("metadata") or {}).get("namespace") == namespace]
    if labels is not None:
        for sidecar in own:
            selector = _selector(sidecar)
            if selector is not None and all(labels.get(k) == v for k, v in selector.items()):
                return sidecar
    for sidecar in own:
        if _selector(sidecar) is None:
            return sidecar
    for sidecar in ordered:  # none of the namespace's selects it: the mesh-wide default
        if (sidecar.get("metadata") or {}).get("namespace") == root_namespace and _selector(sidecar) is None:
            return sidecar
    return None


def sidecar_mode(sidecar: dict | None) -> str | None:
    """A Sidecar's outboundTrafficPolicy.mode, or None when it sets none. An outboundTrafficPolicy
    without a mode is the proto's zero value, REGISTRY_ONLY (networking/v1alpha3/sidecar.proto:
    REGISTRY_ONLY = 0; hence DefaultMeshConfig spells ALLOW_ANY out)."""
    if sidecar is None:
        return None
    policy = (sidecar.get("spec") or {}).get("outboundTrafficPolicy")
    if policy is None:
        return None
    mode = str((policy or {}).get("mode") or REGISTRY_ONLY).upper()
    return mode if mode in MODES else REGISTRY_ONLY


def _host_matches(pattern: str, host: str) -> bool:
    """host.Name.Matches for the plain cases: `*`, `*.suffix`, or the exact name."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def imports(sidecar: dict | None, service_namespace: str, host: str) -> bool:
    """Does a workload configured by this Sidecar see the service `host` of `service_namespace`?
    No Sidecar, or one without egress listeners, imports everything."""
    if sidecar is None:
        return True
    listeners = (sidecar.get("spec") or {}).get("egress") or []
    if not listeners:
        return True
    own_ns = (sidecar.get("metadata") or {}).get("namespace", "")
    for listener in listeners:
        included, excluded = False, False
        for text in listener.get("hosts") or []:
            if text.count("/") != 1:
                continue  # istiod logs it as illegal and skips it
            ns, name = text.split("/")
            negative = ns.startswith("~")
            if negative:
                ns = ns[1:] or "*"
            if ns == ".":
                ns = own_ns
            if ns not in ("*", service_namespace) or not _host_matches(name, host):
                continue
            if negative:
                excluded = True
            else:
                included = True
        if included and not excluded:
            return True
    return False


@dataclass(frozen=True)
class Policy:
    """The outbound traffic policy of a workload (or a namespace's default), and where it comes from."""

    mode: str = ALLOW_ANY
    source: str = ""  # "mesh config istio-system/istio", "Sidecar default/web-only"
    sidecar: dict | None = None  # the Sidecar resource in force, if any

    @property
    def registry_only(self) -> bool:
        return self.mode == REGISTRY_ONLY

    def sees(self, service_namespace: str, host: str) -> bool:
        """Is host, a service of service_namespace, in this workload's registry?"""
        return imports(self.sidecar, service_namespace, host)

    @property
    def sidecar_name(self) -> str:
        meta = (self.sidecar or {}).get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}" if self.sidecar else ""


def outbound_policy(config: MeshConfig, configmap: str, sidecar: dict | None) -> Policy:
    """The policy for a workload of a revision whose mesh config is `config` (read from `configmap`,
    `istio-system/istio`), configured by `sidecar`."""
    mode = sidecar_mode(sidecar)
    if mode is not None:
        meta = sidecar["metadata"]  # type: ignore[index]
        return Policy(mode, f"Sidecar {meta.get('namespace', '')}/{meta.get('name', '')}", sidecar)
    where = f"mesh config {configmap}" if config.readable else f"Istio's default ({configmap} unreadable)"
    return Policy(config.outbound, where, sidecar)
