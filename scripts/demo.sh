#!/usr/bin/env bash
# npm run demo: brings up a local two-node tsk cluster (tsk lab: the server
# with its embedded etcd on 127.0.0.1, each node in a network namespace of
# its own) and deploys the demo app from manifests/: a pod, a replication
# controller of three web servers and a Service in front of them.
# `npm run demo -- stop` takes it all down again. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

name=demo
data=${TSK_DEMO_DIR:-/var/lib/tsk}
tsk() { node dist/cmd/tsk.js "$@"; }
tsctl() { node dist/cmd/tsctl.js "$@"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (the lab creates network namespaces, cgroups and mounts)" >&2
  exit 1
fi

if [ "${1:-}" = stop ]; then
  tsk lab down --name "$name" --data-dir "$data"
  exit 0
fi

bash scripts/ensure-deps.sh
npm run --silent build

if tsk lab status --name "$name" --data-dir "$data" >/dev/null 2>&1; then
  echo "==> lab \"$name\" is already up"
else
  tsk lab up --name "$name" --nodes 2 --data-dir "$data"
fi

# The lab has no way out to a public registry: build busybox:1.36 from
# Debian's busybox-static and load it into every node, as `kind load` does.
image="$data/lab/$name/busybox-1.36.tar"
node dist/kubelet/runtime/image/builder.js docker-save "$image" busybox:1.36
tsk lab load --name "$name" --data-dir "$data" "$image"

echo "==> tsctl apply -f manifests/"
tsctl apply -f manifests/

echo "==> waiting for the pods to be Running and Ready"
count_ready='let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const items=JSON.parse(s).items||[];
  const ready=items.filter(p=>(p.status?.conditions||[]).some(c=>c.type==="Ready"&&c.status==="True")).length;
  console.log(ready+" "+items.length)})'
for i in $(seq 1 180); do
  read -r ready total < <(tsctl get pods -n demo -o json 2>/dev/null | node -e "$count_ready" || echo "0 0")
  if [ "$total" -gt 0 ] && [ "$ready" -eq "$total" ]; then echo "    $ready/$total pods ready"; break; fi
  if [ $((i % 5)) -eq 0 ]; then echo "    $ready/$total pods ready (${i}s)"; fi
  sleep 1
done

echo
echo "==> tsctl get nodes; tsctl get rc,svc,pods -n demo -o wide"
tsctl get nodes
tsctl get rc -n demo
tsctl get svc -n demo
tsctl get pods -n demo -o wide

ip=$(tsctl get svc web -n demo -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).spec.clusterIP))')
echo
echo "==> three requests to the web Service's cluster IP $ip, from node $name-node-1"
for i in 1 2 3; do ip netns exec "tsk-$name-n1" /bin/busybox wget -q -O - "http://$ip/" || true; done

cat <<EOT

The lab runs in the background (API 127.0.0.1:6443, metrics 127.0.0.1:6080/metrics).
  node dist/cmd/tsctl.js get pods -n demo -w                          watch changes
  node dist/cmd/tsctl.js scale rc web -n demo --replicas 5             more replicas
  ip netns exec tsk-$name-n1 /bin/busybox wget -qO- http://$ip/   the Service, from a node
  npm run demo -- stop                                                 take it all down
EOT
