"""What the cluster runs of Istio, as far as the recipes care."""
from __future__ import annotations

from .kube import Kube
from .model import Mesh

ISTIO_NETWORKING = "networking.istio.io"


def detect(kube: Kube) -> Mesh:
    """Istio or not, from discovery: is networking.istio.io served, and in which version."""
    version = kube.preferred_version(ISTIO_NETWORKING)
    return Mesh(istio=version is not None, networking_version=version or "v1")
