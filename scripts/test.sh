#!/usr/bin/env bash
# The README's test command (npm test). On a fresh Debian machine, as root,
# it installs what is missing (Debian and npm packages), builds, and runs the
# unit tests and then the integration tests (real etcd, real namespaces,
# cgroups and overlayfs, a real registry).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests need: command -> package.
need_pkgs=()
want() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
want etcd etcd-server
want etcdctl etcd-client
want iptables-restore iptables
want ip iproute2
want docker-registry docker-registry
want gcc gcc
want tar tar
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || need_pkgs+=(busybox-static)
want zstd zstd
want perl perl-base

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "npm test: missing Debian packages (${need_pkgs[*]}); run as root so they can be installed" >&2
    exit 1
  fi
  log "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# docker-registry's package starts a system service on :5000; tests start
# their own on free loopback ports, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1; then systemctl stop docker-registry >/dev/null 2>&1 || true; fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund
fi

log "building"
npm run build
node scripts/check-imports.cjs

log "unit tests"
npx ava --config ava.unit.config.cjs

if [ "$(id -u)" -ne 0 ]; then
  echo "npm test: integration tests need root (namespaces, cgroups, mounts); run as root" >&2
  exit 1
fi
log "integration tests"
npx ava --config ava.integration.config.cjs
