"""minik8s.dns."""
