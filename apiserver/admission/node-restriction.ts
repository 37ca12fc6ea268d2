// Kubernetes' NodeRestriction admission for tsk's kinds: a node
// (system:node:NAME) may only change its own Node, never the labels under
// node-restriction.kubernetes.io/ (reserved for the administrator to steer
// workloads by, so a node cannot claim them), never its taints once
// registered; it may update the status of, and delete, only pods whose
// stored spec.nodeName is itself. Other users pass untouched.

import { ForbiddenError } from '../../api/errors';
import type { Node, Pod } from '../../api/gen/tsk/v1/core';
import { KINDS } from '../../api/kinds';
import { nodeNameOf } from '../auth/user';
import type { AdmissionPlugin, AdmissionRequest } from './admission';

export const NODE_RESTRICTION_LABEL_PREFIX = 'node-restriction.kubernetes.io/';

function refuse(req: AdmissionRequest, why: string): ForbiddenError {
  return new ForbiddenError(KINDS[req.kind].plural, req.name, why, req.kind);
}

function restrictedLabels(labels: Record<string, string> | undefined): Map<string, string> {
  return new Map(Object.entries(labels ?? {}).filter(([k]) => k.startsWith(NODE_RESTRICTION_LABEL_PREFIX)));
}

/** The restricted labels that differ between the new and the stored Node (all set ones on create). */
function changedRestrictedLabels(next: Node | undefined, old: Node | undefined): string[] {
  const a = restrictedLabels(next?.metadata?.labels);
  const b = restrictedLabels(old?.metadata?.labels);
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

function sameTaints(a: Node | undefined, b: Node | undefined): boolean {
  return JSON.stringify(a?.spec?.taints ?? []) === JSON.stringify(b?.spec?.taints ?? []);
}

function admitNode(node: string, req: AdmissionRequest): void {
  if (req.name !== node) throw refuse(req, `node "${node}" is not allowed to modify node "${req.name}"`);
  const next = req.object as Node | undefined;
  const old = req.oldObject as Node | undefined;
  if (req.operation === 'DELETE' || req.subresource === 'status') return;
  const labels = changedRestrictedLabels(next, req.operation === 'CREATE' ? undefined : old);
  if (labels.length > 0) {
    const what = req.operation === 'CREATE' ? 'set the following labels' : 'modify labels';
    throw refuse(req, `node "${node}" is not allowed to ${what}: ${labels.join(', ')}`);
  }
  if (req.operation === 'UPDATE' && !sameTaints(next, old)) throw refuse(req, `node "${node}" is not allowed to modify taints`);
}

function admitPod(node: string, req: AdmissionRequest): void {
  const stored = req.oldObject as Pod | undefined;
  if (req.operation === 'CREATE') throw refuse(req, `node "${node}" can only create mirror pods, and tsk has none`);
  if (req.operation === 'DELETE') {
    if (stored?.spec?.nodeName !== node) throw refuse(req, `node "${node}" can only delete pods with spec.nodeName set to itself`);
    return;
  }
  if (req.subresource !== 'status') throw refuse(req, `node "${node}" can only update pod status`);
  if (stored?.spec?.nodeName !== node) throw refuse(req, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
  if ((req.object as Pod | undefined)?.spec?.nodeName !== node) throw refuse(req, `node "${node}" cannot change the node of a pod`);
}

export const nodeRestriction: AdmissionPlugin = {
  admit(req: AdmissionRequest): readonly string[] {
    const node = nodeNameOf(req.user);
    if (node === undefined) return [];
    if (req.kind === 'Node') admitNode(node, req);
    else if (req.kind === 'Pod') admitPod(node, req);
    return [];
  },
};
