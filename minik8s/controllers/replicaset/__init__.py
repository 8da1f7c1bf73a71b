"""The ReplicaSet controller: keeps spec.replicas pods of a template alive."""
