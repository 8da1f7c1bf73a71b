"""minik8s.apiserver."""
