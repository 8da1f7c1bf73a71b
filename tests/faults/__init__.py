"""The fault-injection suite of the cluster store (`make faults`): traffic, faults, recorded histories, checkers.

The checkers (linearizability.py, watch_check.py) and the table (report.py) are plain modules the unit
tests exercise on hand-written histories; the fault runner (runner.py) takes any fault with an inject and
a heal step, so faults of the Kubernetes level can reuse it.
"""
