#!/usr/bin/env bash
# The README's test command (npm test). On a fresh Debian machine, as root,
# it installs what is missing (Debian and npm packages), builds, and runs the
# unit tests and then the integration tests (real etcd, real namespaces,
# cgroups and overlayfs, a real registry).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

bash scripts/ensure-deps.sh

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
