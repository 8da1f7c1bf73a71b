#!/usr/bin/env bash
# The main job of `make demo`: the whole cluster, the example app, traffic through its Service,
# and a rolling update without a failed request. The cluster is left running (`make down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
export MINIK8S_HOME="${MINIK8S_HOME:-$HOME/.minik8s}"
export KUBECONFIG="$MINIK8S_HOME/kubeconfig"
MINIK8S=.venv/bin/minik8s
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
SERVICE=http://127.0.0.1:30080/
traffic() { .venv/bin/python deploy/traffic.py "$SERVICE" "$@"; }

step "Starting the cluster in $MINIK8S_HOME: 3 apiserver replicas (Raft), scheduler, controller-manager, 2 Docker nodes, proxy, DNS"
$MINIK8S up

step "Applying deploy/examples/ with the real kubectl"
kubectl apply -f deploy/examples/
kubectl rollout status deployment/web --timeout=120s

step "Where the pods run"
kubectl get pods -o wide

step "Calling the Service (NodePort 30080 on 127.0.0.1): different pods answer"
traffic --count 9

step "Rolling out v2 while calling the Service every 0.1 s"
stop_file=$(mktemp -u)
traffic --until "$stop_file" &
caller=$!
kubectl set env deployment/web VERSION=v2
kubectl rollout status deployment/web --timeout=180s
touch "$stop_file"; wait $caller || echo "some requests failed during the rollout"
rm -f "$stop_file"
traffic --count 6
kubectl rollout history deployment/web

cat <<TXT

The cluster is running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get all -A                          # the real kubectl
  $MINIK8S get pods -o wide                   # or minik8s' own CLI
  $MINIK8S status                             # every component, its pid, health and Raft role
  .venv/bin/python deploy/traffic.py $SERVICE --count 5   # the web Service
  make down                                   # stop everything (objects kept; 'minik8s down --purge' removes them)
TXT
