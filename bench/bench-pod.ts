// The pod the API benchmarks create (bench/api.ts, bench/rest.ts): about
// 1 KiB stored, with the labels, annotations, owner, probes and environment
// of a realistic workload, so encodings and storage cost what they would.

import type { Pod } from '../api/gen/tsk/v1/core';

/** A realistic ~1 KiB pod. */
export function benchPod(name: string, sentAtMs = 0): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      labels: { app: 'bench', tier: 'backend', release: 'stable', 'pod-template-hash': '5d4f8c7b9' },
      annotations: {
        'bench.tsk.dev/sent-at': String(sentAtMs),
        'example.com/owner': 'team-bench',
        'example.com/revision': '42',
        'example.com/git-commit': '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4',
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'bench', uid: '6f1c0f3e-8a0b-4b8e-9a5c-3d2e1f0a9b8c', controller: true }],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/team/bench-app:1.24.3',
          command: ['/bin/app'],
          args: ['--port=8080', '--log-level=info', '--config=/etc/app/config.yaml'],
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
          env: [
            { name: 'APP_ENV', value: 'production' },
            { name: 'APP_REGION', value: 'eu-west-1' },
            { name: 'APP_FEATURE_FLAGS', value: 'alpha,beta,gamma' },
            { name: 'APP_DATABASE_URL', value: 'postgres://app@db.team-bench.svc.cluster.local:5432/app?sslmode=require' },
            { name: 'APP_CACHE_URL', value: 'redis://cache.team-bench.svc.cluster.local:6379/0' },
            { name: 'APP_TRACING_ENDPOINT', value: 'http://otel-collector.observability.svc:4317' },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
          livenessProbe: { httpGet: { path: '/healthz', port: { type: 0, intVal: 8080 } }, periodSeconds: 10 },
          readinessProbe: { httpGet: { path: '/readyz', port: { type: 0, intVal: 8080 } }, periodSeconds: 5 },
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      volumes: [{ name: 'config', emptyDir: {} }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    },
  } as Pod;
}
