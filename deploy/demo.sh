#!/usr/bin/env bash
# The main job of `make demo`: a 3-replica control plane, the example app applied with the real
# kubectl, and what a user does next. The cluster is left running (`make down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
export MINIK8S_HOME="${MINIK8S_HOME:-$HOME/.minik8s}"
export KUBECONFIG="$MINIK8S_HOME/kubeconfig"
MINIK8S=.venv/bin/minik8s
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting the cluster (3 apiserver replicas over Raft) in $MINIK8S_HOME"
$MINIK8S up --replicas 3

step "Cluster components"
$MINIK8S status

step "Applying deploy/examples/ with the real kubectl"
kubectl apply -f deploy/examples/

step "What the API now holds"
kubectl get deployments,services,configmaps -o wide
kubectl get namespaces

step "Scaling the Deployment through its /scale subresource"
kubectl scale deployment web --replicas=4
kubectl get deployment web -o jsonpath='{.spec.replicas} replicas desired{"\n"}'

cat <<TXT

The cluster is running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get all -A
  $MINIK8S status          # every component, its pid, health and Raft role
  make down                # stop everything (data kept; 'minik8s down --purge' removes it)
TXT
