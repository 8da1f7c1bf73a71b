#!/usr/bin/env bash
# Entrypoint of the controller-manager container: it talks to every apiserver replica, failing over
# in order. Flags after the image name (the compose `command:`, short node-failure periods) pass through.
set -euo pipefail

: "${MINIK8S_SERVERS:?}"
exec minik8s-controller-manager --server "${MINIK8S_SERVERS}" "$@"
