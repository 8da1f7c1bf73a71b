"""The Job controller: runs a Job's pods to completion, counting each finished pod exactly once."""
