"""minik8s.controllers."""
