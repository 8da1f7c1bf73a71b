"""What the tests (and the benchmarks in `bench/`) share; nothing here is a test.

- `waiting`: the one bounded wait, `eventually` (in the event loop) and `wait_for` (in a thread).
- `ports`: free loopback ports.
- `builders`: API objects built with keyword arguments.
- `fake_runtime`: a scriptable container runtime (logs and exec) for the node server and probes.
- `serving`: an ASGI app or an apiserver over an in-process store, served in the test's loop.
- `in_loop`: controllers run on shared informers, as the controller-manager runs them.
- `replicas`, `daemons`, `cluster_api`: real apiserver replicas and daemon processes, started,
  killed and queried through the API.
"""
