"""The in-memory container runtime and the simulated nodes built on it.

`runtime.FakeRuntime` implements `minik8s.node.runtime.ContainerRuntime` without Docker, for
agent tests and benchmarks; `exec_session` gives its `exec` a canned answer; `simulated_nodes`
runs many real node agents over it in one process.
"""
