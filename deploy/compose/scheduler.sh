#!/usr/bin/env bash
# Entrypoint of the scheduler container: it talks to every apiserver replica its kubeconfig
# lists (failing over in order), as its own identity.
# Flags after the image name (the compose `command:`) are passed through.
set -euo pipefail

exec minik8s-scheduler --kubeconfig /etc/minik8s/kubeconfigs/scheduler.conf "$@"
