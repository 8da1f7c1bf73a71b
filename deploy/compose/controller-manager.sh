#!/usr/bin/env bash
# Entrypoint of the controller-manager container: it talks to every apiserver replica, failing over
# in order. Flags after the image name (the compose `command:`, short node-failure periods) pass through.
set -euo pipefail

exec minik8s-controller-manager --kubeconfig /etc/minik8s/kubeconfigs/controller-manager.conf \
    --root-ca-file /etc/minik8s/pki/ca.crt "$@"
