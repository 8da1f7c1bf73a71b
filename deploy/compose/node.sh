#!/usr/bin/env bash
# Entrypoint of a node container (kind-like): its own dockerd, then the node agent and the proxy,
# plus the cluster DNS on the node that has RUN_DNS=yes.
#
# Why it exists: a node is several processes that must start in order (the engine before the
# agent, the pod network before DNS binds to its gateway) on a kernel set up for routing. This
# script does that setup, supervises the daemons, and exits as soon as one of them dies, so a
# broken node is a stopped container that `docker ps -a` shows, never a silently half-working one.
#
# Environment (docker-compose.yml): NODE_NAME, NODE_IP (compose address), POD_CIDR,
# MINIK8S_SERVERS, PEER_ROUTES ("cidr=via,cidr=via": the other nodes' pod networks), RUN_DNS.
set -euo pipefail

: "${NODE_NAME:?}" "${NODE_IP:?}" "${POD_CIDR:?}"
readonly PEER_ROUTES="${PEER_ROUTES:-}"
readonly RUN_DNS="${RUN_DNS:-no}"
readonly CLUSTER_DNS_IP=10.96.0.10
readonly CLUSTER_CIDR=10.244.0.0/16
readonly PKI=/etc/minik8s/pki KUBECONFIGS=/etc/minik8s/kubeconfigs
# The compose network's interface: the only one Docker gives this container.
readonly UPLINK=eth0
GATEWAY="$(python3 -c "import ipaddress, sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))" "${POD_CIDR}")"
readonly GATEWAY

say() { echo "node.sh[${NODE_NAME}]: $*" >&2; }

# Docker mounts /proc/sys and /sys read-only in a non-privileged container; dockerd and the proxy
# write sysctls (ip_forward, route_localnet, hairpin_mode), and CAP_SYS_ADMIN may remount them.
unlock_kernel_settings() {
    mount -o remount,rw /proc/sys
    mount -o remount,rw /sys
}

# The node's own engine. No default bridge (the agent makes the pod network itself, with the pod
# CIDR); its containers live under their own cgroup parent, removed by demo.sh on teardown; and
# its resolver is the cluster DNS, so nothing a pod does ever asks a resolver outside the machine.
start_dockerd() {
    dockerd --bridge none --iptables=true --cgroup-parent "/minik8s-compose-${NODE_NAME}" \
        --dns "${CLUSTER_DNS_IP}" >/var/log/dockerd.log 2>&1 &
    local deadline=$((SECONDS + 60))
    until docker info >/dev/null 2>&1; do
        if ((SECONDS > deadline)) || ! kill -0 $! 2>/dev/null; then
            tail -n 20 /var/log/dockerd.log >&2
            say "dockerd did not come up"
            exit 1
        fi
        sleep 0.2
    done
    say "dockerd is up"
}

# host-gw: every other node's pod network is one hop away, through that node's compose address.
# Docker's FORWARD policy drops what enters from outside into the pod bridge; pod-to-pod is let
# through by the proxy's rules, and traffic a peer node masqueraded (its NodePort and ClusterIP
# calls) is let through here.
program_routes() {
    local route cidr via
    IFS=',' read -ra routes <<<"${PEER_ROUTES}"
    for route in "${routes[@]}"; do
        cidr="${route%%=*}" via="${route#*=}"
        ip route replace "${cidr}" via "${via}" dev "${UPLINK}"
        say "route ${cidr} via ${via}"
    done
    iptables -N DOCKER-USER 2>/dev/null || true
    iptables -C DOCKER-USER -i "${UPLINK}" -d "${POD_CIDR}" -j ACCEPT 2>/dev/null ||
        iptables -I DOCKER-USER 1 -i "${UPLINK}" -d "${POD_CIDR}" -j ACCEPT
}

start_daemons() {
    minik8s-proxy --kubeconfig "${KUBECONFIGS}/proxy.conf" --cluster-cidr "${CLUSTER_CIDR}" &
    minik8s-node --node-name "${NODE_NAME}" --kubeconfig "${KUBECONFIGS}/kubelet-${NODE_NAME}.conf" \
        --tls-cert-file "${PKI}/kubelet-serving-${NODE_NAME}.crt" \
        --tls-private-key-file "${PKI}/kubelet-serving-${NODE_NAME}.key" --client-ca-file "${PKI}/ca.crt" \
        --pod-cidr "${POD_CIDR}" \
        --node-ip "${NODE_IP}" --data-dir /var/lib/minik8s/node --cluster-dns "${CLUSTER_DNS_IP}" \
        --node-status-update-frequency 2 --lease-renew-interval 2 "$@" &
    if [[ "${RUN_DNS}" == yes ]]; then
        start_dns &
    fi
}

# DNS listens on the pod network's gateway, which exists once the agent has made the network.
start_dns() {
    local deadline=$((SECONDS + 120))
    until ip -o -4 addr show | grep -q " ${GATEWAY}/"; do
        ((SECONDS < deadline)) || { say "pod network gateway ${GATEWAY} never appeared"; exit 1; }
        sleep 0.5
    done
    exec minik8s-dns --kubeconfig "${KUBECONFIGS}/dns.conf" --listen "${GATEWAY}:53" --advertise-address "${GATEWAY}"
}

# Sends TERM to every daemon this script started (dockerd stops the pods it runs).
stop_children() {
    local listing
    listing="$(jobs -p)"
    [[ -z "${listing}" ]] || xargs kill -TERM <<<"${listing}" 2>/dev/null || true
}

# `docker stop`: stop the daemons; whatever is left when this script ends, the kernel ends.
# shellcheck disable=SC2317  # invoked by the TERM/INT trap
on_stop() {
    say "stopping"
    stop_children
    exit 0
}

main() {
    unlock_kernel_settings
    start_dockerd
    program_routes
    trap on_stop TERM INT
    start_daemons "$@"
    local status=0
    wait -n || status=$?
    say "a daemon exited (status ${status}); stopping the node"
    stop_children
    exit 1
}

main "$@"
