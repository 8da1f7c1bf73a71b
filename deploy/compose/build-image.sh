#!/usr/bin/env bash
# The node image of the compose demo, minik8s/node:latest, built without any registry.
#
# Why it exists: the machines minik8s runs on reach no container registry (nothing can be
# pulled, so no `FROM debian`), yet every compose service needs a Debian userland with the
# project installed, and the nodes need their own dockerd. So the image is made in two layers:
#   1. minik8s/node-base:<hash of the package list>: `debootstrap --variant=minbase bookworm`,
#      then apt-get in a chroot of what a node needs, imported with `tar | docker import`.
#      It only changes when the package list below changes, so it is rarely rebuilt.
#   2. minik8s/node:latest: the base plus a venv holding the project, installed offline from a
#      wheelhouse built on the host (only the host reaches PyPI), committed with `docker commit`.
#      It carries the label minik8s.io/source-hash; a matching hash means nothing to do.
#
# Usage: bash deploy/compose/build-image.sh [--force]     (--force rebuilds both layers)
set -euo pipefail

export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
readonly HERE ROOT
readonly IMAGE=minik8s/node:latest
readonly BASE_REPOSITORY=minik8s/node-base
readonly SUITE=bookworm
readonly MIRROR="${MINIK8S_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What a node needs: its own engine and the tools the proxy and node agent shell out to.
readonly PACKAGES=(docker.io iptables iproute2 python3 python3-venv procps ca-certificates wget)
readonly VENV=/opt/minik8s
readonly HASH_LABEL=minik8s.io/source-hash
readonly PIP="${ROOT}/.venv/bin/pip"

say() { echo "build-image.sh: $*" >&2; }
fail() {
    say "error: $*"
    exit 1
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# The base only depends on the suite, the package list and how it is assembled.
base_tag() {
    printf '%s\n' "${SUITE}" "${PACKAGES[@]}" "$(declare -f build_base_rootfs slim_rootfs)" |
        sha256sum | cut -c1-12
}

# A hash of everything that ends up in the project layer: the sources, the packaging, this script.
source_hash() {
    (
        cd "${ROOT}"
        {
            find minik8s -type f -name '*.py' ! -path '*/__pycache__/*'
            printf '%s\n' pyproject.toml README.md deploy/compose/build-image.sh
        } | LC_ALL=C sort | while IFS= read -r path; do
            printf '%s  %s\n' "$(sha256sum <"${path}" | cut -d' ' -f1)" "${path}"
        done
    ) | sha256sum | cut -c1-16
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    ((EUID == 0)) || fail "debootstrap is missing; run: sudo apt-get install -y debootstrap"
    say "installing debootstrap with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends debootstrap >/dev/null; } || fail "could not install debootstrap"
}

# Docs, man pages and translations are never read inside a node: dpkg skips them at unpack.
write_dpkg_excludes() {
    mkdir -p "$1/etc/dpkg/dpkg.cfg.d"
    printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
        'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' \
        'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/lintian/*' >"$1/etc/dpkg/dpkg.cfg.d/01-minik8s-slim"
}

slim_rootfs() {
    local rootfs="$1"
    chroot "${rootfs}" apt-get clean
    rm -rf "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/*.bin "${rootfs}"/var/log/*.log \
        "${rootfs}"/usr/share/doc/* "${rootfs}"/usr/share/man/* "${rootfs}"/usr/share/info/* \
        "${rootfs}"/usr/share/locale/* "${rootfs}"/tmp/* "${rootfs}"/usr/sbin/policy-rc.d
    find "${rootfs}/usr/lib/python3" "${rootfs}/usr/lib/python3.11" -name '__pycache__' -prune \
        -exec rm -rf {} + 2>/dev/null || true
}

# debootstrap, then the node's packages in a chroot; /proc is mounted only for apt's maintainer scripts.
build_base_rootfs() {
    local rootfs="$1"
    say "debootstrap --variant=minbase ${SUITE} (about 30 s)"
    debootstrap --variant=minbase "${SUITE}" "${rootfs}" "${MIRROR}" >"${rootfs}.debootstrap.log" 2>&1 ||
        { tail -n 20 "${rootfs}.debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
    write_dpkg_excludes "${rootfs}"
    # No init runs in a chroot: tell maintainer scripts not to start services (docker.io would).
    printf '#!/bin/sh\nexit 101\n' >"${rootfs}/usr/sbin/policy-rc.d"
    chmod 0755 "${rootfs}/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "${rootfs}/etc/resolv.conf"
    mount -t proc proc "${rootfs}/proc"
    say "apt-get install in the chroot: ${PACKAGES[*]}"
    if ! { chroot "${rootfs}" apt-get update -q && DEBIAN_FRONTEND=noninteractive chroot "${rootfs}" \
        apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; } >"${rootfs}.apt.log" 2>&1; then
        umount "${rootfs}/proc"
        tail -n 20 "${rootfs}.apt.log" >&2
        fail "apt-get in the chroot failed (log above)"
    fi
    umount "${rootfs}/proc"
    # Docker bind-mounts its own resolv.conf at run time; keep the host's resolver out of the image.
    : >"${rootfs}/etc/resolv.conf"
    slim_rootfs "${rootfs}"
}

build_base_image() {
    local work="$1" tag="$2" rootfs="$1/rootfs"
    ((EUID == 0)) || fail "building the base image needs root (debootstrap, chroot)"
    ensure_debootstrap
    build_base_rootfs "${rootfs}"
    say "importing ${BASE_REPOSITORY}:${tag}"
    tar -C "${rootfs}" --numeric-owner -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'LABEL minik8s.io/image=true' --change 'CMD ["bash"]' \
        --message "minik8s node base (debootstrap ${SUITE} + ${PACKAGES[*]})" - "${BASE_REPOSITORY}:${tag}" >/dev/null
    rm -rf "${rootfs}"
}

# The project and its dependencies as wheels, from a copy of the sources (the tree stays clean).
build_wheelhouse() {
    local work="$1" source="$1/source"
    [[ -x "${PIP}" ]] || fail "no ${PIP}; run: make install"
    mkdir -p "${source}" "${work}/wheels"
    cp -r "${ROOT}/pyproject.toml" "${ROOT}/README.md" "${ROOT}/minik8s" "${source}/"
    find "${source}" -name '__pycache__' -prune -exec rm -rf {} +
    say "building the wheelhouse (project + dependencies) on the host"
    "${PIP}" wheel --disable-pip-version-check --wheel-dir "${work}/wheels" "${source}" >"${work}/pip.log" 2>&1 ||
        { tail -n 20 "${work}/pip.log" >&2; fail "pip wheel failed (log above)"; }
}

# Installs the wheelhouse offline into a venv in a container of the base, committed as the image.
build_project_image() {
    local work="$1" base="$2" hash="$3" builder="minik8s-node-image-build-$$"
    build_wheelhouse "${work}"
    say "installing minik8s into ${VENV} (offline, from the wheelhouse)"
    docker rm -f "${builder}" >/dev/null 2>&1 || true
    docker run --name "${builder}" --network none -v "${work}/wheels:/wheels:ro" "${base}" bash -c \
        "python3 -m venv ${VENV} && ${VENV}/bin/pip install -q --no-index --no-compile --disable-pip-version-check \
         --find-links /wheels minik8s && ${VENV}/bin/python -m compileall -q ${VENV}/lib >/dev/null; \
         rm -rf /root/.cache" >&2 || { docker rm -f "${builder}" >/dev/null 2>&1; fail "pip install in the image failed"; }
    docker commit \
        --change "ENV PATH=${VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "LABEL ${HASH_LABEL}=${hash}" --change 'LABEL minik8s.io/image=true' \
        --change 'CMD ["bash"]' "${builder}" "${IMAGE}" >/dev/null
    docker rm "${builder}" >/dev/null
}

# Drops the image a rebuild replaced, when no tag names it any more (so rebuilds do not pile up).
drop_if_untagged() {
    [[ -n "$1" && "$1" != "$(docker image inspect --format '{{.Id}}' "${IMAGE}" 2>/dev/null)" ]] || return 0
    if [[ "$(docker image inspect --format '{{len .RepoTags}}' "$1" 2>/dev/null)" == 0 ]]; then
        docker image rm "$1" >/dev/null 2>&1 || true
    fi
}

# EXIT trap: unmount /proc if a chroot step failed half-way, drop the scratch space, keep the status.
remove_work() {
    local status=$?
    if mountpoint -q "${WORK}/rootfs/proc" 2>/dev/null; then
        umount "${WORK}/rootfs/proc" || true
    fi
    rm -rf "${WORK}"
    exit "${status}"
}

main() {
    local force=no
    case "${1:-}" in
        --force) force=yes ;;
        "") ;;
        -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" && return 0 ;;
        *) fail "unknown argument '$1' (usage: build-image.sh [--force])" ;;
    esac
    timeout 15 docker info >/dev/null 2>&1 || fail "no Docker engine answers; run: bash deploy/setup/docker.sh"
    local hash base previous_id
    hash="$(source_hash)"
    base="${BASE_REPOSITORY}:$(base_tag)"
    if [[ "${force}" == no ]] && [[ "$(image_label "${IMAGE}" "${HASH_LABEL}")" == "${hash}" ]] && image_present "${base}"; then
        say "ok: ${IMAGE} is up to date (sources ${hash})"
        return 0
    fi
    WORK="$(mktemp -d /var/tmp/minik8s-node-image.XXXXXX)"
    trap remove_work EXIT
    local work="${WORK}"
    if [[ "${force}" == yes ]] || ! image_present "${base}"; then
        build_base_image "${work}" "${base#*:}"
    fi
    previous_id="$(docker image inspect --format '{{.Id}}' "${IMAGE}" 2>/dev/null || true)"
    build_project_image "${work}" "${base}" "${hash}"
    drop_if_untagged "${previous_id}"
    say "ok: built ${IMAGE} (sources ${hash}) on ${base}, $(docker image inspect --format '{{.Size}}' "${IMAGE}" |
        awk '{printf "%d MB", $1 / 1000000}')"
}

main "$@"
