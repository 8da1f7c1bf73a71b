"""The DaemonSet controller: one pod per eligible node, rolled to new templates."""
