"""minik8s.client."""
