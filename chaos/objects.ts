// The objects the workload creates: per namespace chaos-N, an RC "web" of
// busybox httpd replicas and a Service "web" in front of them (the demo's
// manifests/ in miniature, with a readiness probe so Ready means "answers").

import type { ConfigMap, Namespace, ReplicationController, Service } from '../api/gen/tsk/v1/core';

export const NAMESPACE_PREFIX = 'chaos-';
export const APP = 'web';
export const SERVICE_PORT = 80;
export const CONTAINER_PORT = 8080;
export const IMAGE = 'busybox:1.36';

export function namespaceObject(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'app.kubernetes.io/part-of': 'tsk-chaos' } } };
}

export function rcObject(namespace: string, replicas: number): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: APP, namespace, labels: { app: APP } },
    spec: {
      replicas,
      selector: { app: APP },
      template: {
        metadata: { labels: { app: APP } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'httpd',
              image: IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', `mkdir -p /www && echo "chaos $(hostname)" > /www/index.html && exec httpd -f -p ${CONTAINER_PORT} -h /www`],
              ports: [{ name: 'http', containerPort: CONTAINER_PORT, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/', port: { type: 0, intVal: CONTAINER_PORT } }, periodSeconds: 2 },
            },
          ],
        },
      },
    },
  } as ReplicationController;
}

export function serviceObject(namespace: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: APP, namespace },
    spec: { selector: { app: APP }, ports: [{ name: 'http', protocol: 'TCP', port: SERVICE_PORT, targetPort: { type: 0, intVal: CONTAINER_PORT } }] },
  } as Service;
}

export function isChaosNamespace(name: string | undefined): boolean {
  return (name ?? '').startsWith(NAMESPACE_PREFIX);
}

/** The churn writer's objects: ConfigMaps in "default" with this label, written during every fault. */
export const CHURN_LABEL = 'tsk-chaos-churn';
export const CHURN_NAMESPACE = 'default';

export function churnObject(name: string, round: number): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: CHURN_NAMESPACE, labels: { [CHURN_LABEL]: 'true' } },
    data: { round: String(round) },
  };
}
