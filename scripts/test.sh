#!/usr/bin/env bash
# The README's test command (npm test). On a fresh Debian machine, as root,
# it installs what is missing (Debian and npm packages), builds, and runs the
# unit tests and then the integration tests (real etcd, real namespaces,
# cgroups and overlayfs, a real registry).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# Each ava run's output is kept so the last line can total both suites.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { grep -hoE "[0-9]+ tests? $1" "$out"/*.log 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
summary() { echo; echo "tests: $(count passed) passed, $(count failed) failed"; }

bash scripts/ensure-deps.sh

log "building"
npm run build
# The tests, fakes and integration/ on top of the product build (see tsconfig.build.json).
npm run --silent build:test
node scripts/check-imports.cjs

log "lint (ESLint) and format (Prettier; npm run format fixes it)"
npm run --silent lint

log "unit tests"
set +e
npx ava --config ava.unit.config.cjs 2>&1 | tee "$out/unit.log"
unit=${PIPESTATUS[0]}
set -e
if [ "$unit" -ne 0 ]; then summary; exit "$unit"; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "npm test: integration tests need root (namespaces, cgroups, mounts); run as root" >&2
  exit 1
fi
log "integration tests"
set +e
npx ava --config ava.integration.config.cjs 2>&1 | tee "$out/integration.log"
integration=${PIPESTATUS[0]}
set -e
summary
exit "$integration"
