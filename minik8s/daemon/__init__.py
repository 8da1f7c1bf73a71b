"""How every minik8s daemon starts and stops, in one place.

The apiserver, node agent, scheduler, controller-manager, proxy and DNS server share their
logging flags (`--v`, `--log-format`, `--log-level`), their handling of SIGTERM and SIGINT and
their exit codes, so an operator learns them once. This package knows nothing of the cluster;
each daemon's `main.py` parses its own flags and hands its `serve` coroutine to `run_daemon`.
"""
