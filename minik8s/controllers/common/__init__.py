"""What several controllers share: context, ownership and adoption, expectations, pods, taints, events, hashes."""
