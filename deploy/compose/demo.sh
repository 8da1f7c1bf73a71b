#!/usr/bin/env bash
# The multi-node scenario of `make compose-demo`, and its CI test: every check that fails makes
# the script exit non-zero, and the cluster is torn down whatever happens.
#
# Why it exists: `minik8s up` puts the whole cluster on one host; this shows the same daemons on
# separate "machines" (containers on one private network, see docker-compose.yml) surviving what
# machines do: the web example is deployed over two nodes and answers through its Service from
# either node; the Raft leader's apiserver is killed and the cluster keeps accepting writes; a node
# is stopped and its pods come back on the other one.
#
# Usage: bash deploy/compose/demo.sh          run the scenario (as root: Docker, docker-compose and
#                                             debootstrap are installed when missing)
#        bash deploy/compose/demo.sh down     remove what an interrupted run left behind
# MINIK8S_DOCKER_LOCK=<file>: hold that flock while the cluster runs (hosts shared by several jobs).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="${PWD}/.venv/bin:${PATH}:/usr/local/sbin:/usr/sbin:/sbin"

readonly PROJECT=minik8s-compose
readonly COMPOSE_FILE=deploy/compose/docker-compose.yml
readonly API_IPS=(172.31.250.11 172.31.250.12 172.31.250.13)
readonly NODES=(node-1 node-2)
readonly NODE_IPS=(172.31.250.31 172.31.250.32)
readonly NODE_PORT=30080
readonly POD_IMAGES=(minik8s/busybox:latest minik8s/pause:latest)
STATE="$(mktemp -d /tmp/minik8s-compose.XXXXXX)"
readonly STATE
export MINIK8S_COMPOSE_STATE="${STATE}" KUBECONFIG="${STATE}/secret/kubeconfig"
API=""          # the apiserver kubectl talks to (a surviving replica after the leader is killed)
STARTED_AT=${SECONDS}

step() { printf '\n\033[1m==> [%3ds] %s\033[0m\n' "$((SECONDS - STARTED_AT))" "$*"; }
say() { echo "    $*"; }
fail() {
    printf '\033[31mFAILED: %s\033[0m\n' "$*" >&2
    exit 1
}
compose() { docker-compose -p "${PROJECT}" -f "${COMPOSE_FILE}" "$@"; }
container() { echo "${PROJECT}-$1"; }
kc() { kubectl --server "${API}" --request-timeout=10s "$@"; }

# Polls "$@" every half second until it succeeds or $1 seconds pass.
wait_until() {
    local seconds="$1" what="$2" deadline
    shift 2
    deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail "${what}: not done within ${seconds} s"
        sleep 0.5
    done
}

# Like wait_until, but shows the output of the attempt that succeeded (or of the last one).
retry() {
    local seconds="$1" what="$2" deadline output
    shift 2
    deadline=$((SECONDS + seconds))
    until output="$("$@" 2>&1)"; do
        ((SECONDS < deadline)) || fail "${what}: still failing after ${seconds} s: ${output}"
        sleep 0.5
    done
    echo "${output}"
}

# Removes the cluster, its volumes and the cgroups the nodes' engines made; safe to repeat.
teardown() {
    local status=$?
    trap - EXIT INT TERM
    if ((status != 0)); then
        step "Failure: state and last logs of every container"
        compose ps || true
        compose logs --no-color --tail 25 2>/dev/null | tail -n 200 || true
    fi
    step "Tearing down (docker-compose down -v, cgroups of the nodes' engines)"
    compose down -v --remove-orphans -t 2 >/dev/null 2>&1 || true
    remove_node_cgroups
    rm -rf "${STATE}"
    if ((status == 0)); then
        printf '\n\033[32mcompose demo: OK in %d s\033[0m\n' "$((SECONDS - STARTED_AT))"
    else
        printf '\n\033[31mcompose demo: FAILED (exit %d) after %d s\033[0m\n' "${status}" "$((SECONDS - STARTED_AT))"
    fi
    exit "${status}"
}

remove_node_cgroups() {
    local folder
    for folder in /sys/fs/cgroup/*/minik8s-compose-node-* /sys/fs/cgroup/minik8s-compose-node-*; do
        if [[ -d "${folder}" ]]; then
            find "${folder}" -depth -type d -exec rmdir {} + 2>/dev/null || true
        fi
    done
}

ensure_tools() {
    bash deploy/setup/docker.sh
    if ! command -v docker-compose >/dev/null 2>&1; then
        ((EUID == 0)) || fail "docker-compose is missing; run: sudo apt-get install -y docker-compose"
        say "installing Debian's docker-compose with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends docker-compose >/dev/null; } || fail "could not install docker-compose"
    fi
    command -v kubectl >/dev/null 2>&1 || fail "kubectl is not on PATH"
    bash deploy/images/build.sh
    bash deploy/compose/build-image.sh
}

# The shared Raft secret and the cluster PKI (`minik8s certs`: CA, certificates, a kubeconfig per
# component, and the admin's, ours: the user's ~/.kube/config is never read).
write_state() {
    (umask 077 && mkdir -p "${STATE}/secret" &&
        python3 -c 'import secrets; print(secrets.token_hex(24), end="")' >"${STATE}/secret/secret")
    local -a flags=()
    local address index
    for address in "${API_IPS[@]}"; do
        flags+=(--server "https://${address}:6443")
    done
    for index in "${!NODES[@]}"; do
        flags+=(--node "${NODES[index]}=${NODE_IPS[index]}")
    done
    .venv/bin/minik8s certs --dir "${STATE}/secret" "${flags[@]}"
}

api_ready() { kubectl --server "https://$1:6443" --request-timeout=2s get --raw /readyz; }

# The Raft role a replica reports at /debug/raft ("leader", "follower", …), empty when unreachable.
raft_role() {
    kubectl --server "https://$1:6443" --request-timeout=2s get --raw /debug/raft 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin).get("role", ""))' 2>/dev/null || true
}

node_ready() {
    [[ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

node_not_ready() { ! node_ready "$1"; }

start_cluster() {
    step "Starting the compose cluster: 3 apiservers (Raft), scheduler, controller-manager, node-1, node-2"
    compose down -v --remove-orphans -t 1 >/dev/null 2>&1 || true # leftovers of an interrupted run
    remove_node_cgroups
    compose up -d
    wait_until 60 "an apiserver answering /readyz (Raft leader elected)" api_ready "${API_IPS[0]}"
    API="https://${API_IPS[0]}:6443"
    local node
    for node in "${NODES[@]}"; do
        wait_until 60 "${node}'s dockerd" docker exec "$(container "${node}")" docker info
        say "loading ${POD_IMAGES[*]} into ${node} (docker save | docker exec -i … docker load)"
        docker save "${POD_IMAGES[@]}" | docker exec -i "$(container "${node}")" docker load >/dev/null
    done
    for node in "${NODES[@]}"; do
        wait_until 90 "node ${node} Ready" node_ready "${node}"
    done
    kc get nodes -o wide
}

# Calls $2 $3 times from inside node container $1 and checks every call is answered and that at
# least $4 different pods answered (the page is "<version> <pod name>"). Prints who answered.
call_service() {
    local node="$1" url="$2" count="$3" minimum_pods="$4" answers failed pods
    answers="$(docker exec "$(container "${node}")" bash -c \
        'for _ in $(seq "$2"); do wget -q -T 3 -O- "$1" 2>/dev/null || echo FAILED; done' _ "${url}" "${count}")"
    failed="$(grep -c FAILED <<<"${answers}" || true)"
    pods="$(grep -v FAILED <<<"${answers}" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')"
    say "from ${node}: ${url} → ${count} calls, ${failed} failed; answered by: ${pods:-nobody}"
    ((failed == 0)) || fail "${failed} of ${count} calls to ${url} from ${node} failed"
    (($(grep -v FAILED <<<"${answers}" | awk '{print $2}' | sort -u | wc -l) >= minimum_pods)) ||
        fail "fewer than ${minimum_pods} different pods answered ${url} from ${node}"
}

# ClusterIP and NodePort (on 127.0.0.1 and on the node's own address) from inside each node given.
call_from_nodes() {
    local minimum_pods="$1" cluster_ip node node_ip
    shift
    cluster_ip="$(kc get service web -o jsonpath='{.spec.clusterIP}')"
    for node in "$@"; do
        node_ip="$(kc get node "${node}" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
        call_service "${node}" "http://${cluster_ip}/" 12 "${minimum_pods}"
        call_service "${node}" "http://127.0.0.1:${NODE_PORT}/" 12 "${minimum_pods}"
        call_service "${node}" "http://${node_ip}:${NODE_PORT}/" 6 1
    done
}

pod_nodes() { kc get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u; }

deploy_web() {
    step "Applying deploy/examples/web.yaml with the real kubectl (server ${API})"
    kc apply -f deploy/examples/web.yaml
    kc rollout status deployment/web --timeout=120s
    step "Where the pods run"
    kc get pods -o wide
    (($(pod_nodes | wc -l) == 2)) || fail "the web pods are not spread over both nodes: $(pod_nodes | xargs)"
    step "Calling the Service from inside node-1 and node-2 (ClusterIP, NodePort ${NODE_PORT})"
    call_from_nodes 2 node-1 node-2
    step "Cluster DNS (on node-1) from a pod on each node, through kubectl exec"
    resolve_from_pods node-1 node-2
}

# `kubectl exec POD -- nslookup` in a web pod on each node given: the name must resolve to the
# Service's ClusterIP (pods on node-2 reach the DNS on node-1 through the host-gw route).
resolve_from_pods() {
    local cluster_ip node pod answer
    cluster_ip="$(kc get service web -o jsonpath='{.spec.clusterIP}')"
    for node in "$@"; do
        pod="$(kc get pods -l app=web --field-selector "spec.nodeName=${node}" -o jsonpath='{.items[0].metadata.name}')"
        answer="$(kc exec "${pod}" -- nslookup web.default.svc.cluster.local 2>&1 || true)"
        grep -qF "${cluster_ip}" <<<"${answer}" ||
            fail "web.default.svc.cluster.local did not resolve to ${cluster_ip} in ${pod} on ${node}: ${answer}"
        say "in ${pod} on ${node}: web.default.svc.cluster.local → ${cluster_ip}"
    done
}

# The replica whose /debug/raft says "leader" (its IP), or nothing.
raft_leader() {
    local ip
    for ip in "${API_IPS[@]}"; do
        [[ "$(raft_role "${ip}")" == leader ]] && echo "${ip}" && return 0
    done
    return 1
}

show_raft_roles() {
    local index
    for index in "${!API_IPS[@]}"; do
        say "apiserver-$((index + 1)) (${API_IPS[index]}): $(raft_role "${API_IPS[index]}" | grep . || echo unreachable)"
    done
}

kill_raft_leader() {
    step "Killing the Raft leader's apiserver container"
    local leader index survivor
    wait_until 30 "a Raft leader" raft_leader
    leader="$(raft_leader)"
    show_raft_roles
    for index in "${!API_IPS[@]}"; do
        [[ "${API_IPS[index]}" == "${leader}" ]] && docker kill "$(container "apiserver-$((index + 1))")" >/dev/null &&
            say "docker kill $(container "apiserver-$((index + 1))") (the leader, ${leader})"
    done
    for survivor in "${API_IPS[@]}"; do
        [[ "${survivor}" != "${leader}" ]] && break
    done
    API="https://${survivor}:6443"
    wait_until 30 "a new Raft leader" raft_leader
    show_raft_roles
    step "A write through a surviving replica (${API}): kubectl scale deployment/web --replicas=4"
    retry 30 "kubectl scale after the leader's loss" kc scale deployment/web --replicas=4
    kc rollout status deployment/web --timeout=90s
    kc get pods -o wide
    step "The Service still answers from both nodes"
    call_from_nodes 2 node-1 node-2
}

# Ready endpoints of the web Service, one IP a line.
endpoint_ips() { kc get endpoints web -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{"\n"}{end}'; }

# True when the web Service's 4 ready endpoints are all in pod network $1 (a prefix like 10.244.1.).
endpoints_all_in() {
    local ips
    ips="$(endpoint_ips)"
    (($(grep -c . <<<"${ips}") == 4)) && ! grep -qv "^${1//./\\.}" <<<"${ips}"
}

stop_node() {
    local lost="$1" survivor="$2" survivor_prefix
    step "Stopping ${lost}'s container (docker stop): its pods must come back on ${survivor}"
    docker stop -t 5 "$(container "${lost}")" >/dev/null
    wait_until 60 "${lost} NotReady" node_not_ready "${lost}"
    kc get nodes
    survivor_prefix="$(kc get node "${survivor}" -o jsonpath='{.spec.podCIDR}' | cut -d. -f1-3)."
    say "waiting until the 4 ready endpoints of Service web are all on ${survivor} (${survivor_prefix}0/24)"
    wait_until 120 "web's pods running again on ${survivor}" endpoints_all_in "${survivor_prefix}"
    kc rollout status deployment/web --timeout=60s
    kc get pods -o wide
    step "The Service still answers from ${survivor}"
    call_from_nodes 2 "${survivor}"
}

# `demo.sh down` (make compose-down): remove a cluster an interrupted run left behind.
down() {
    compose down -v --remove-orphans -t 1
    remove_node_cgroups
    rm -rf "${STATE}"
}

main() {
    case "${1:-}" in
        "") ;;
        down) down && return 0 ;;
        *) fail "unknown argument '$1' (usage: demo.sh [down])" ;;
    esac
    trap teardown EXIT
    trap 'exit 130' INT TERM
    step "Building what the demo needs (cached: a second run takes seconds)"
    ensure_tools
    if [[ -n "${MINIK8S_DOCKER_LOCK:-}" ]]; then
        say "waiting for the lock ${MINIK8S_DOCKER_LOCK}"
        exec 9>>"${MINIK8S_DOCKER_LOCK}"
        flock 9
    fi
    write_state
    start_cluster
    deploy_web
    kill_raft_leader
    stop_node node-2 node-1
}

main "$@"
