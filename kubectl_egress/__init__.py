"""kubectl egress: in-cluster names for external services, checked from inside and outside the mesh."""

__version__ = "0.1.0"
