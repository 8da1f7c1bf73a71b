"""The ServiceAccount controller: every active namespace has its `default` ServiceAccount."""
