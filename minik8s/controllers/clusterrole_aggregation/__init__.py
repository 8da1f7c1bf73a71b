"""The ClusterRole aggregation controller (see controller.py)."""
