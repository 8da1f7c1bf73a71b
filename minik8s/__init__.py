"""minik8s: a Kubernetes-shaped orchestrator in Python that runs real Docker containers."""
