#!/usr/bin/env bash
# Benchmark setup: Debian's etcd, the peer `python -m bench store-vs-etcd` measures the store against.
#
# Why it exists: issue #14's figures are ratios to etcd measured in the same run on the same machine,
# so `make bench` needs an etcd binary. Installed only when missing (one apt-get call, `apt-get update`
# only if that fails without it); the bench starts its members on loopback ports of its own and removes
# them afterwards.
set -euo pipefail
export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"

readonly APT_LOG=/var/log/minik8s-apt.log

say() { echo "etcd.sh: $*" >&2; }

if command -v etcd >/dev/null 2>&1; then
    say "ok: $(etcd --version 2>/dev/null | head -n 1)"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || { say "error: no etcd and no apt-get: install etcd 3.4 by hand"; exit 1; }
install_etcd() {
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y --no-install-recommends etcd-server etcd-client \
        >>"${APT_LOG}" 2>&1
}
say "installing Debian's etcd-server (log: ${APT_LOG})"
install_etcd || { apt-get update >>"${APT_LOG}" 2>&1 && install_etcd; } || {
    say "error: apt-get could not install etcd-server (see ${APT_LOG})"
    exit 1
}
say "ok: $(etcd --version | head -n 1)"
