"""Pod networks need root (network and mount namespaces). CI runs as root and sets
KUBECTL_EGRESS_REQUIRE_POD_NETWORKS=1, which turns a missing capability into a failure."""
import os

import pytest

from tests.apiserver.network import unavailable

REASON = unavailable()
REQUIRED = os.environ.get("KUBECTL_EGRESS_REQUIRE_POD_NETWORKS") == "1"

if REASON and REQUIRED:
    raise RuntimeError(f"pod networks are required here but unavailable: {REASON}")

requires_pod_networks = pytest.mark.skipif(bool(REASON), reason=REASON or "available")
