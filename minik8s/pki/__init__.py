"""The cluster's public-key infrastructure: one CA, serving certificates, client certificates.

Kubernetes authenticates its components and people by x509 client certificates (CN = user
name, O = groups) signed by the cluster CA, and every client verifies the apiserver's serving
certificate against the same CA. This package makes and keeps those files; it imports nothing
of the project but `minik8s.api`, so the CLI, the apiserver and the daemons can all use it.
"""
