"""minik8s.api."""
