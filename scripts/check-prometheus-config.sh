#!/usr/bin/env bash
# Checks manifests/prometheus/prometheus.yml with Debian's promtool, which is
# built without Kubernetes discovery: each job's kubernetes_sd_configs is
# checked here (only the fields of Prometheus' kubernetes_sd_config, a known
# role, the same REST API address), then replaced by a static target so that
# promtool checks everything else (relabelling, TLS, paths). The credential
# files are stood in for by empty files in a temporary directory.
# Usage: scripts/check-prometheus-config.sh [FILE]
set -euo pipefail
file="${1:-$(dirname "$0")/../manifests/prometheus/prometheus.yml}"
command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$file" "$tmp" <<'PY'
import os, sys, yaml
src, tmp = sys.argv[1], sys.argv[2]
config = yaml.safe_load(open(src))
fields = {'role', 'api_server', 'kubeconfig_file', 'namespaces', 'selectors', 'attach_metadata', 'tls_config', 'authorization', 'basic_auth', 'oauth2', 'proxy_url', 'follow_redirects', 'enable_http2'}
servers = set()
files = set()
for job in config['scrape_configs']:
    for sd in job.get('kubernetes_sd_configs', []):
        extra = set(sd) - fields
        if extra: sys.exit(f"{job['job_name']}: kubernetes_sd_configs has unknown fields {sorted(extra)}")
        if sd.get('role') not in ('node', 'pod', 'service', 'endpoints', 'endpointslice', 'ingress'): sys.exit(f"{job['job_name']}: role {sd.get('role')!r}")
        servers.add(sd.get('api_server'))
        files.update(v for k, v in (sd.get('tls_config') or {}).items() if k.endswith('_file'))
    job.pop('kubernetes_sd_configs', None)
    job['static_configs'] = [{'targets': ['127.0.0.1:1']}]
    files.update(v for k, v in (job.get('tls_config') or {}).items() if k.endswith('_file'))
if len(servers) != 1: sys.exit(f"every job should discover through one REST API, found {sorted(map(str, servers))}")
text = yaml.safe_dump(config)
for f in files:
    stand_in = os.path.join(tmp, os.path.basename(f))
    open(stand_in, 'w').close()
    text = text.replace(f, stand_in)
open(os.path.join(tmp, 'prometheus.yml'), 'w').write(text)
print(f"kubernetes_sd_configs: {sum(1 for _ in config['scrape_configs'])} jobs against {servers.pop()}")
PY
promtool check config "$tmp/prometheus.yml"
