#!/usr/bin/env bash
# Entrypoint of an apiserver container: one replica of the Raft group, reached by its compose IP.
#
# Why a script and not a bare command: the replica's addresses and peers come from the compose
# environment, and the flags after the image name (the compose `command:`) are passed through.
set -euo pipefail

: "${APISERVER_NAME:?}" "${APISERVER_IP:?}" "${RAFT_PEERS:?}"

# Every replica must hold the same secret (it authenticates Raft traffic) and PKI: demo.sh writes
# them into the mounted /etc/minik8s before anything starts; refuse to invent private ones.
[[ -s /etc/minik8s/secret ]] || { echo "apiserver.sh: /etc/minik8s/secret is missing" >&2; exit 1; }

readonly PKI=/etc/minik8s/pki
exec minik8s-apiserver --name "${APISERVER_NAME}" \
    --listen "${APISERVER_IP}:6443" --raft-address "${APISERVER_IP}:7001" --peers "${RAFT_PEERS}" \
    --data-dir /var/lib/minik8s/apiserver --secret-file /etc/minik8s/secret \
    --encryption-provider-config /etc/minik8s/encryption.yaml \
    --tls-cert-file "${PKI}/apiserver.crt" --tls-private-key-file "${PKI}/apiserver.key" \
    --client-ca-file "${PKI}/ca.crt" --authorization-mode Node,RBAC --enable-admission-plugins ServiceAccount \
    --pod-security-default baseline \
    --service-account-signing-key-file "${PKI}/sa.key" --service-account-key-file "${PKI}/sa.pub" \
    --kubelet-client-certificate "${PKI}/apiserver-kubelet-client.crt" \
    --kubelet-client-key "${PKI}/apiserver-kubelet-client.key" --kubelet-certificate-authority "${PKI}/ca.crt" "$@"
