"""The Docker runtime of the node agent: the only package that imports the docker SDK.

`runtime.DockerRuntime` implements `minik8s.node.runtime.ContainerRuntime` on a Docker engine;
`engine_calls` holds its blocking SDK calls, `wire` what is said to the engine and how its
answers read (pure), `http_streams` and `thread_streams` the long-lived logs/events/pull
streams, and `exec_session` a running `docker exec`.
"""
