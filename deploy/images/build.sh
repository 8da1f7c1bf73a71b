#!/usr/bin/env bash
# Local images: build minik8s/busybox, minik8s/curl and minik8s/pause (:latest) without any registry.
#
# Why it exists: the machines minik8s runs on reach no container registry, so nothing can be
# pulled and `docker build FROM ...` is impossible. Both images are therefore assembled from files
# already on the host (Debian's static busybox, the host's curl with the libraries it loads, a pause
# binary compiled from pause.c next to this script) and loaded with `docker import`. minik8s/curl is
# busybox plus curl: what a pod needs to call the apiserver over verified HTTPS with its
# ServiceAccount token (busybox's own TLS cannot verify an ECDSA certificate). An image that already exists is left alone, so the
# script is cheap to call from `make install`; `--force` rebuilds both.
#
# Usage: bash deploy/images/build.sh [--force]
# Environment: MINIK8S_PAUSE_USE_SHELL=1 builds the busybox-shell pause even when gcc works.
set -euo pipefail

export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
readonly BUSYBOX_IMAGE=minik8s/busybox:latest
readonly PAUSE_IMAGE=minik8s/pause:latest
readonly CURL_IMAGE=minik8s/curl:latest
readonly IMAGE_LABEL='LABEL minik8s.io/image=true'
readonly DEFAULT_PATH='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# Applets pods and tests rely on; the build fails if the host's busybox lacks one.
readonly REQUIRED_APPLETS=(sh ash httpd wget nc nslookup sleep hostname cat ls echo env grep ps kill
    mkdir rm touch date true false id head tail wc sed awk ip ping printf test '[' sync seq uname)

say() { echo "build.sh: $*" >&2; }
fail() {
    say "error: $*"
    exit 1
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# Prints the path of a statically linked busybox (images carry no libc) or fails.
static_busybox() {
    local binary
    binary="$(command -v busybox 2>/dev/null)" || fail "no busybox on this host; run: bash deploy/setup/docker.sh"
    if ldd "${binary}" >/dev/null 2>&1; then
        fail "${binary} is dynamically linked; install busybox-static (bash deploy/setup/docker.sh does)"
    fi
    echo "${binary}"
}

# Reproducible tar of a directory on stdout: same files in, same layer out.
tar_tree() {
    tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -c .
}

# True when applet $2 is linked in one of the PATH folders of tree $1.
applet_linked() {
    local folder
    for folder in bin sbin usr/bin usr/sbin; do
        [[ -L "$1/${folder}/$2" || -e "$1/${folder}/$2" ]] && return 0
    done
    return 1
}

# Fills $1 with busybox, one symlink per applet at its usual place, and the minimal /etc.
stage_busybox_tree() {
    local root="$1" busybox_binary="$2" applet_path
    mkdir -p "${root}"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www,proc,sys,dev}
    chmod 1777 "${root}/tmp"
    chmod 0700 "${root}/root"
    install -m 0755 "${busybox_binary}" "${root}/bin/busybox"
    while IFS= read -r applet_path; do
        [[ -z "${applet_path}" || -L "${root}/${applet_path}" || -e "${root}/${applet_path}" ]] && continue
        mkdir -p "${root}/$(dirname "${applet_path}")"
        ln -s /bin/busybox "${root}/${applet_path}"
    done < <("${root}/bin/busybox" --list-full)
    local applet
    for applet in "${REQUIRED_APPLETS[@]}"; do
        applet_linked "${root}" "${applet}" || fail "the host's busybox has no '${applet}' applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
        >"${root}/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"${root}/etc/group"
    # Docker bind-mounts its own hosts/resolv.conf/hostname over these at run time.
    printf '%s\n' '127.0.0.1	localhost' '::1	localhost ip6-localhost ip6-loopback' >"${root}/etc/hosts"
    : >"${root}/etc/resolv.conf"
    echo busybox >"${root}/etc/hostname"
}

build_busybox_image() {
    local root="$1/busybox-root" busybox_binary
    busybox_binary="$(static_busybox)"
    stage_busybox_tree "${root}" "${busybox_binary}"
    tar_tree "${root}" | docker import \
        --change "${IMAGE_LABEL}" --change "${DEFAULT_PATH}" --change 'CMD ["sh"]' \
        --message 'minik8s busybox (Debian busybox-static)' - "${BUSYBOX_IMAGE}" >/dev/null
    say "built ${BUSYBOX_IMAGE}"
}

# Copies dynamically linked binary $2 into tree $1 with every shared library it loads (ldd), each
# at its own path, so it runs in an image without a distribution.
stage_dynamic_binary() {
    local root="$1" binary="$2" library
    install -D -m 0755 "${binary}" "${root}${binary}"
    while IFS= read -r library; do
        install -D -m 0755 "$(readlink -f "${library}")" "${root}${library}"
    done < <(ldd "${binary}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

build_curl_image() {
    local root="$1/curl-root" busybox_binary curl_binary
    busybox_binary="$(static_busybox)"
    curl_binary="$(command -v curl 2>/dev/null)" || fail "no curl on this host; run: bash deploy/setup/docker.sh"
    stage_busybox_tree "${root}" "${busybox_binary}"
    stage_dynamic_binary "${root}" "$(readlink -f "${curl_binary}")"
    tar_tree "${root}" | docker import \
        --change "${IMAGE_LABEL}" --change "${DEFAULT_PATH}" --change 'CMD ["sh"]' \
        --message 'minik8s curl (busybox and the host curl)' - "${CURL_IMAGE}" >/dev/null
    say "built ${CURL_IMAGE}"
}

# Compiles pause.c into $1; returns non-zero when gcc or a static libc is unavailable.
compile_pause() {
    [[ "${MINIK8S_PAUSE_USE_SHELL:-0}" == 1 ]] && return 1
    command -v gcc >/dev/null 2>&1 || return 1
    gcc -static -Os -s -Wall -Wextra -o "$1" "${HERE}/pause.c" 2>/dev/null
}

# Fallback pause: busybox sh as PID 1 with a TERM/INT trap; `wait` also reaps orphans.
stage_shell_pause_tree() {
    local root="$1" busybox_binary
    busybox_binary="$(static_busybox)"
    mkdir -p "${root}/bin"
    install -m 0755 "${busybox_binary}" "${root}/bin/busybox"
    ln -s busybox "${root}/bin/sh"
    ln -s busybox "${root}/bin/sleep"
    cat >"${root}/pause" <<'SCRIPT'
#!/bin/sh
# minik8s pause fallback: hold the pod's namespaces, exit at once on TERM/INT.
trap 'exit 0' TERM INT
while :; do
    sleep 86400 &
    wait
done
SCRIPT
    chmod 0755 "${root}/pause"
}

build_pause_image() {
    local root="$1/pause-root" kind
    mkdir -p "${root}"
    if compile_pause "${root}/pause"; then
        kind="static C (pause.c)"
    else
        if [[ "${MINIK8S_PAUSE_USE_SHELL:-0}" == 1 ]]; then
            say "MINIK8S_PAUSE_USE_SHELL=1: using the busybox-shell pause"
        else
            say "gcc with a static libc is unavailable; using the busybox-shell pause"
        fi
        rm -rf "${root}" && stage_shell_pause_tree "${root}"
        kind="busybox shell"
    fi
    tar_tree "${root}" | docker import \
        --change "${IMAGE_LABEL}" --change 'ENTRYPOINT ["/pause"]' \
        --message "minik8s pause (${kind})" - "${PAUSE_IMAGE}" >/dev/null
    say "built ${PAUSE_IMAGE} (${kind})"
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# Runs builder $2 for image $1, then drops the image it replaced if nothing else names it,
# so `--force` does not pile up untagged images. An image a container still uses stays.
rebuild() {
    local image="$1" builder="$2" work="$3" previous_id
    previous_id="$(image_id "${image}")"
    "${builder}" "${work}"
    if [[ -n "${previous_id}" && "${previous_id}" != "$(image_id "${image}")" &&
        "$(docker image inspect --format '{{len .RepoTags}}' "${previous_id}" 2>/dev/null)" == 0 ]]; then
        docker image rm "${previous_id}" >/dev/null 2>&1 || true
    fi
}

main() {
    local force=no
    case "${1:-}" in
        --force) force=yes ;;
        "") ;;
        -h | --help)
            sed -n '2,11p' "${BASH_SOURCE[0]}"
            return 0
            ;;
        *) fail "unknown argument '$1' (usage: build.sh [--force])" ;;
    esac
    timeout 15 docker info >/dev/null 2>&1 || fail "no Docker engine answers; run: bash deploy/setup/docker.sh"
    local work
    work="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now: the path is fixed
    trap "rm -rf '${work}'" EXIT
    if [[ "${force}" == yes ]] || ! image_present "${BUSYBOX_IMAGE}"; then
        rebuild "${BUSYBOX_IMAGE}" build_busybox_image "${work}"
    fi
    if [[ "${force}" == yes ]] || ! image_present "${CURL_IMAGE}"; then
        rebuild "${CURL_IMAGE}" build_curl_image "${work}"
    fi
    if [[ "${force}" == yes ]] || ! image_present "${PAUSE_IMAGE}"; then
        rebuild "${PAUSE_IMAGE}" build_pause_image "${work}"
    fi
    say "ok: ${BUSYBOX_IMAGE}, ${CURL_IMAGE} and ${PAUSE_IMAGE} present"
}

main "$@"
