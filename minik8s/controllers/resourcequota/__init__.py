"""The ResourceQuota controller: every quota's `status.hard` and `status.used`, recounted from the namespace."""
