"""The disruption controller: PodDisruptionBudget status, and stale DisruptionTarget conditions."""
