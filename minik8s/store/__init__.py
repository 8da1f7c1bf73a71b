"""minik8s.store."""
