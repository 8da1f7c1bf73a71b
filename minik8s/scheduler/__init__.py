"""minik8s.scheduler."""
