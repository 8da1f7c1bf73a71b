"""The node lifecycle controller: dead nodes tainted, their pods evicted or removed."""
