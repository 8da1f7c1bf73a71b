"""The garbage collector: dependents of deleted owners go, in the propagation policy asked."""
