"""Node IPAM: every Node gets its own pod CIDR."""
