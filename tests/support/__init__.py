"""What the tests share: bounded waits, free ports, object builders, a scriptable runtime, process harness.

Nothing here is a test. `waiting` and `ports` serve every layer; `builders` make API objects for the
pure tests; `fake_runtime` is the scriptable container runtime of the node tests; `replicas`,
`daemons`, `in_loop` and `cluster_api` start and query real processes for the integration tests
and the benchmarks in `bench/`.
"""
