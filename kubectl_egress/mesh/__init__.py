"""What the cluster runs of Istio, and how it treats egress traffic.

- istiod:    an istiod Deployment as its control plane: revision, version, ExternalName mode (pure)
- dataplane: what a namespace asks for and a pod has: sidecar, ambient or none (pure)
- policy:    the outbound traffic policy in force: mesh config, Sidecar resources (pure)
- facts:     MeshFacts, the one value recipes, probe and check take (pure questions)
- detect:    reading it from the cluster, once per command
"""
from .detect import ISTIO_NETWORKING, decide, detect, istiod_facts, read
from .facts import Ambient, MeshFacts, PodFacts
from .istiod import ALIAS_SINCE, Revision, alias_mode

__all__ = ["ALIAS_SINCE", "ISTIO_NETWORKING", "Ambient", "MeshFacts", "PodFacts", "Revision", "alias_mode",
           "decide", "detect", "istiod_facts", "read"]
