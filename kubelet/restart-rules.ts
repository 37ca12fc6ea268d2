// What happens when a container exits (Kubernetes' ContainerShouldRestart and
// findMatchingContainerRestartRule, KEP-5307 "Container restart rules" and
// KEP-5532 "Restart all containers on container exits"): the container's
// restartPolicyRules are evaluated in order and the first that matches the
// exit code decides; without a match the container's own restartPolicy, and
// without one the pod's, decides. Pure.

import type { Container, ContainerRestartRule, Pod } from '../api/gen/tsk/v1/core';

/** What the kubelet does after an exit: nothing, start this container again, or restart the whole pod in place. */
export type ExitAction = 'None' | 'Restart' | 'RestartAllContainers';

/** The first of the container's rules that matches `exitCode`, with its index; undefined when none does. */
export function matchRestartRule(c: Container, exitCode: number): { index: number; rule: ContainerRestartRule } | undefined {
  // Kubernetes evaluates the rules only under a container-level policy (validation requires one with rules).
  if (!c.restartPolicy) return undefined;
  const rules = c.restartPolicyRules ?? [];
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index];
    const codes = rule?.exitCodes;
    if (!rule || !codes) continue;
    const listed = (codes.values ?? []).includes(exitCode);
    if ((codes.operator === 'In' && listed) || (codes.operator === 'NotIn' && !listed)) return { index, rule };
  }
  return undefined;
}

/** The pod's or the container's restart policy applied to an exit code. */
function policyRestarts(policy: string | undefined, exitCode: number): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

/**
 * The action after `c` exited with `exitCode`: a matching rule first, then
 * the container's restartPolicy, then the pod's. `init` marks a plain init
 * container (not a sidecar): one that exited 0 has completed and is never
 * started again, and a failed one follows the same order.
 */
export function exitAction(pod: Pod, c: Container | undefined, exitCode: number | undefined, init = false): ExitAction {
  const code = exitCode ?? 0;
  if (init && c?.restartPolicy !== 'Always' && code === 0) return 'None';
  const matched = c ? matchRestartRule(c, code) : undefined;
  if (matched?.rule.action === 'Restart') return 'Restart';
  if (matched?.rule.action === 'RestartAllContainers') return 'RestartAllContainers';
  const policy = c?.restartPolicy || pod.spec?.restartPolicy;
  return policyRestarts(policy, code) ? 'Restart' : 'None';
}

/** Kubernetes' message of the AllContainersRestarting condition and the event. */
export function restartAllMessage(name: string, exitCode: number): string {
  return `Container ${name} exited with code ${exitCode}, triggering pod restart`;
}
