"""minik8s.node."""
