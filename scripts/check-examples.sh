#!/usr/bin/env bash
# Checks a directory of Kubernetes example manifests against a running tsk
# API server: every file through `tsctl apply --validate=strict
# --dry-run=server`, one row per file (ok / warning / error) and the message.
# Starts nothing; point it at a server with --server/--kubeconfig/--context.
# Exits 1 when any file is an error. Needs `npm run build` (or build:test).
#   scripts/check-examples.sh /work/k8s-examples --kubeconfig /tmp/x/admin.conf --create-namespaces
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec node "$root/dist/scripts/check-examples/main.js" "$@"
