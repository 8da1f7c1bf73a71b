"""The DNS message model and RFC 1035 codec, with no daemon code.

The cluster DNS server answers with it and `minik8s up` asks the cluster DNS with it, so it
lives apart from both: the CLI may import it without importing a daemon.
"""
