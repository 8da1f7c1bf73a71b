"""The Deployment controller: rolls a pod template out through ReplicaSets."""
