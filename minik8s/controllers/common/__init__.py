"""What several controllers share: the controller context, workload ownership, adoption, expectations."""
