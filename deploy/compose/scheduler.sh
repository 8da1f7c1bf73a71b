#!/usr/bin/env bash
# Entrypoint of the scheduler container: it talks to every apiserver replica, failing over in order.
# Flags after the image name (the compose `command:`) are passed through.
set -euo pipefail

: "${MINIK8S_SERVERS:?}"
exec minik8s-scheduler --server "${MINIK8S_SERVERS}" "$@"
