"""minik8s.controllers: the controller-manager and one module per controller."""
