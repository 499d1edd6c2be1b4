"""Which Istio the cluster runs, and how it treats ExternalName Services.

From discovery (is networking.istio.io served, in which version) and from
the istiod Deployment in istio-system: its version (the
operator.istio.io/version or app.kubernetes.io/version label, else the image
tag) and its ENABLE_EXTERNAL_NAME_ALIAS setting. Up to Istio 1.20 an
ExternalName Service is a mesh service of its own (`legacy`); from 1.21 it is
a DNS alias (`alias`), unless the flag says otherwise.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import ServerError
from .model import DEPLOYMENTS, Mesh

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube


ISTIO_NETWORKING = "networking.istio.io"
ALIAS_SINCE = (1, 21)


def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def istiod_facts(deployment: dict) -> tuple[str, str | None]:
    """(version, ENABLE_EXTERNAL_NAME_ALIAS value or None) of an istiod Deployment."""
    labels = deployment.get("metadata", {}).get("labels") or {}
    version = labels.get("operator.istio.io/version") or labels.get("app.kubernetes.io/version") or ""
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
    container = next((c for c in containers if c.get("name") == "discovery"), containers[0])
    if not version:
        tag = container.get("image", "").rpartition(":")[2]
        if re.match(r"^\d+\.\d+", tag):
            version = tag.split("-")[0]
    alias = next((str(v["value"]).lower() for v in container.get("env") or []
                  if v.get("name") == "ENABLE_EXTERNAL_NAME_ALIAS" and "value" in v), None)
    return version, alias


def decide(networking_version: str | None, deployment: dict | None, override: str = "auto") -> Mesh:
    """The mesh, from what discovery and istiod say (pure)."""
    if networking_version is None or override == "none":
        source = "--istio-mode none" if override == "none" else "networking.istio.io is not served"
        return Mesh(istio=False, networking_version=networking_version or "v1", mode="none", source=source,
                    served=networking_version is not None)
    version, alias = istiod_facts(deployment) if deployment else ("", None)
    if override in ("legacy", "alias"):
        return Mesh(True, networking_version, override, version, f"--istio-mode {override}")
    if alias in ("true", "false"):
        mode = "alias" if alias == "true" else "legacy"
        return Mesh(True, networking_version, mode, version, f"istiod sets ENABLE_EXTERNAL_NAME_ALIAS={alias}")
    minor = _minor(version)
    if minor is not None:
        mode = "alias" if minor >= ALIAS_SINCE else "legacy"
        return Mesh(True, networking_version, mode, version, f"istiod {version}")
    # istiod not readable: networking v1 is served from 1.22, which treats ExternalName as an alias
    mode = "alias" if networking_version == "v1" else "legacy"
    return Mesh(True, networking_version, mode, "", f"guessed from networking.istio.io/{networking_version} "
                "(istiod in istio-system could not be read)")


def detect(kube: Kube, override: str = "auto") -> Mesh:
    """What this cluster runs: discovery, then istiod (skipped when the mode is forced)."""
    version = kube.preferred_version(ISTIO_NETWORKING)
    deployment = None
    if version is not None and override == "auto":
        try:
            found = kube.list(DEPLOYMENTS, "istio-system", "app=istiod")
            deployment = found[0] if found else None
        except ServerError as err:
            if err.code not in (403, 404):
                raise
    return decide(version, deployment, override)
