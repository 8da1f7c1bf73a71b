"""minik8s.proxy."""
