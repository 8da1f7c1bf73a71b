"""minik8s.cli."""
