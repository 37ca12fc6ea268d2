#!/usr/bin/env bash
# npm run demo: brings up a tsk control plane (the embedded default: tsk starts
# its own etcd on 127.0.0.1) and deploys the demo app from manifests/.
# `npm run demo -- stop` stops it again. Everything listens on loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${TSK_DEMO_DIR:-$HOME/.tsk/demo}
pidfile=$data/apiserver.pid
tsk() { node dist/cmd/tsk.js "$@"; }
tsctl() { node dist/cmd/tsctl.js "$@"; }

if [ "${1:-}" = stop ]; then
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
    echo "demo control plane stopped (data kept in $data)"
  else
    echo "no demo control plane is running"
  fi
  rm -f "$pidfile"
  exit 0
fi

if ! command -v etcd >/dev/null 2>&1; then
  echo "demo: etcd is not installed; on Debian/Ubuntu: apt-get install etcd-server" >&2
  exit 1
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build

mkdir -p "$data"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "==> the demo control plane is already running (pid $(cat "$pidfile"))"
else
  echo "==> starting tsk apiserver with embedded etcd (data in $data, log in $data/apiserver.log)"
  nohup node dist/cmd/tsk.js apiserver --data-dir "$data" >"$data/apiserver.log" 2>&1 &
  echo $! >"$pidfile"
  for i in $(seq 1 150); do
    if curl -fsS 127.0.0.1:6080/readyz >/dev/null 2>&1; then break; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "demo: tsk apiserver exited; its log:" >&2; cat "$data/apiserver.log" >&2; exit 1
    fi
    [ $((i % 10)) -eq 0 ] && echo "    waiting for the API server to be ready ($((i / 5))s)"
    sleep 0.2
  done
  curl -fsS 127.0.0.1:6080/readyz >/dev/null || { echo "demo: the API server did not become ready" >&2; exit 1; }
fi

echo "==> tsctl apply -f manifests/"
tsctl apply -f manifests/
echo
echo "==> tsctl get rc,svc,pods -n demo"
tsctl get rc -n demo
tsctl get svc -n demo
tsctl get pods -n demo
cat <<EOT

The control plane runs in the background (API 127.0.0.1:6443, metrics 127.0.0.1:6080/metrics).
  node dist/cmd/tsctl.js get pods -n demo -w     watch changes
  npm run demo -- stop                           stop it
EOT
