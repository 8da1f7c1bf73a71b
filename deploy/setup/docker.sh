#!/usr/bin/env bash
# Machine setup: make sure a Docker engine answers and the host tools minik8s shells out to exist
# (plus shellcheck, which the test suite runs over these scripts).
#
# Why it exists: minik8s runs every pod as a real Docker container and programs services with
# iptables/ip, and its images are built from Debian's static busybox. A fresh machine of the kind
# we target (Debian bookworm, root, no init system running, no registry) has none of that, so
# `make install` calls this script. It is idempotent and costs well under a second when
# everything is already there: it only installs what is missing (one apt-get call, `apt-get update`
# only if that call fails without it) and only starts dockerd when `docker info` does not answer.
#
# Environment: MINIK8S_DOCKER_WAIT_SECONDS (default 60) bounds the wait for a starting dockerd.
set -euo pipefail

# Root's tools live in sbin; a login shell for a plain user may not have those on PATH.
export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"

readonly DOCKERD_LOG=/var/log/minik8s-dockerd.log
readonly APT_LOG=/var/log/minik8s-apt.log
readonly DOCKER_SOCKET=/var/run/docker.sock
readonly DOCKER_PIDFILE=/var/run/docker.pid
readonly WAIT_SECONDS="${MINIK8S_DOCKER_WAIT_SECONDS:-60}"
readonly SELF="deploy/setup/docker.sh"

say() { echo "docker.sh: $*" >&2; }
fail() {
    say "error: $*"
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

engine_answers() { have docker && timeout 15 docker info >/dev/null 2>&1; }

# A busybox for images must be static (the images carry no libc); `ldd` says so without `file`.
static_busybox_present() {
    local binary
    binary="$(command -v busybox 2>/dev/null)" || return 1
    ! ldd "${binary}" >/dev/null 2>&1
}

# Prints the Debian packages still needed, space separated (nothing when all is there).
# $1 is "yes" when an engine already answers: then dockerd itself is not needed here.
missing_packages() {
    local engine_up="$1"
    local -a missing=()
    if [[ "${engine_up}" != yes ]] && { ! have dockerd || ! have docker; }; then
        missing+=(docker.io)
    fi
    have iptables || missing+=(iptables)
    have ip || missing+=(iproute2)
    static_busybox_present || missing+=(busybox-static)
    have curl || missing+=(curl) # copied into the minik8s/curl image
    have shellcheck || missing+=(shellcheck) # the test suite lints these scripts with it
    echo "${missing[*]}"
}

apt_install() {
    if ((EUID != 0)); then
        fail "missing packages: $*. Run as root: sudo bash ${SELF}  (or: sudo apt-get install -y --no-install-recommends $*)"
    fi
    have apt-get || fail "missing packages: $*, and there is no apt-get here; install them by hand"
    export DEBIAN_FRONTEND=noninteractive
    say "installing with apt-get: $* (log: ${APT_LOG})"
    if apt-get install -y -q --no-install-recommends "$@" >>"${APT_LOG}" 2>&1; then
        return 0
    fi
    say "apt-get install failed; refreshing package lists (apt-get update) and retrying"
    if apt-get update -q >>"${APT_LOG}" 2>&1 &&
        apt-get install -y -q --no-install-recommends "$@" >>"${APT_LOG}" 2>&1; then
        return 0
    fi
    tail -n 15 "${APT_LOG}" >&2 || true
    fail "could not install $* with apt-get; see ${APT_LOG}"
}

# True when a dockerd from an earlier run is alive (it may still be starting up).
dockerd_alive() {
    [[ -s "${DOCKER_PIDFILE}" ]] && kill -0 "$(cat "${DOCKER_PIDFILE}")" 2>/dev/null
}

launch_dockerd() {
    if dockerd_alive; then
        say "dockerd (pid $(cat "${DOCKER_PIDFILE}")) is running but not answering yet; waiting for it"
        return 0
    fi
    # A pidfile left by a dockerd that died would make the new one refuse to start.
    rm -f "${DOCKER_PIDFILE}"
    say "starting dockerd in the background (log: ${DOCKERD_LOG})"
    # The engine outlives this script: it must not keep any descriptor of its caller open (a
    # `flock LOCK make test` would stay locked, a CI pipe would never see end-of-file).
    (
        for fd in /proc/self/fd/*; do
            fd="${fd##*/}"
            if ((fd > 2)); then
                eval "exec ${fd}>&-" 2>/dev/null || true
            fi
        done
        exec setsid nohup dockerd >>"${DOCKERD_LOG}" 2>&1 </dev/null
    ) &
    DOCKERD_PID=$!
}

wait_for_engine() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    while ((SECONDS < deadline)); do
        if [[ -S "${DOCKER_SOCKET}" ]] && engine_answers; then
            return 0
        fi
        if [[ -n "${DOCKERD_PID:-}" ]] && ! kill -0 "${DOCKERD_PID}" 2>/dev/null; then
            tail -n 15 "${DOCKERD_LOG}" >&2 || true
            fail "dockerd exited during startup; see ${DOCKERD_LOG}"
        fi
        sleep 0.2
    done
    tail -n 15 "${DOCKERD_LOG}" >&2 || true
    fail "dockerd did not answer on ${DOCKER_SOCKET} within ${WAIT_SECONDS} s; see ${DOCKERD_LOG}"
}

# An engine that runs but refuses us (socket permissions) needs a different fix than a missing one.
explain_unreachable_engine_for_non_root() {
    if [[ -S "${DOCKER_SOCKET}" && ! -w "${DOCKER_SOCKET}" ]]; then
        fail "dockerd runs but ${DOCKER_SOCKET} is not writable by $(id -un): add the user to the 'docker' group or run as root"
    fi
    fail "no Docker engine answers and starting one needs root. Run: sudo bash ${SELF}"
}

main() {
    local engine_up=no missing
    engine_answers && engine_up=yes
    missing="$(missing_packages "${engine_up}")"
    if [[ -n "${missing}" ]]; then
        # shellcheck disable=SC2086  # deliberate word splitting of the package list
        apt_install ${missing}
    fi
    if [[ "${engine_up}" == yes ]] || engine_answers; then
        say "ok: Docker engine answers; iptables, ip, static busybox and shellcheck present"
        return 0
    fi
    ((EUID == 0)) || explain_unreachable_engine_for_non_root
    launch_dockerd
    wait_for_engine
    say "ok: Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) is up"
}

main "$@"
