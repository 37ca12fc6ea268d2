// Kubernetes' ValidatePodResize (pkg/apis/core/validation, KEP-1287): what
// the pods/resize subresource may change. Only the cpu and memory requests
// and limits of the regular containers, of the sidecars and of the pod
// (spec.resources); never the QoS class, never the removal of a request or a
// limit, never anything else. Pure.

import type { Cause } from '../../api/errors';
import type { Container, Pod, PodSpec, ResourceRequirements } from '../../api/gen/tsk/v1/core';
import { qosClass } from '../../api/pod-qos';
import { forbidden, invalid, Path } from './field';
import { validateObjectMetaUpdate } from './meta';
import { validatePodSpec } from './pod';
import { semanticEqual } from './semantic';

/** The resources an in-place resize may change. */
export const RESIZABLE_RESOURCES = ['cpu', 'memory'];

const isSidecar = (c: Container | undefined): boolean => c?.restartPolicy === 'Always';

/** validateContainerResize: a request or limit the pod had may not go (Kubernetes cannot tell "removed" from "unset" on the node). */
function validateNoRemoval(next: ResourceRequirements | undefined, old: ResourceRequirements | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  for (const name of Object.keys(old?.requests ?? {})) {
    if (next?.requests?.[name] === undefined) errs.push(forbidden(path.child('requests').key(name), 'resource requests cannot be removed'));
  }
  for (const name of Object.keys(old?.limits ?? {})) {
    if (next?.limits?.[name] === undefined) errs.push(forbidden(path.child('limits').key(name), 'resource limits cannot be removed'));
  }
  return errs;
}

/** The list with its cpu and memory entries taken from `old` (dropCPUMemoryResourcesFromContainer). */
function withOldCpuMemory(list: Record<string, string> | undefined, old: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = { ...list };
  for (const name of RESIZABLE_RESOURCES) {
    const was = old?.[name];
    if (was === undefined) delete out[name];
    else out[name] = was;
  }
  return out;
}

function withOldCpuMemoryResources(next: ResourceRequirements | undefined, old: ResourceRequirements | undefined): ResourceRequirements {
  return { ...next, requests: withOldCpuMemory(next?.requests, old?.requests), limits: withOldCpuMemory(next?.limits, old?.limits) };
}

/** validatePodResizeContainerOrdering: the rest of the checks pair containers by index. */
function validateOrdering(next: readonly Container[], old: readonly Container[], path: Path): Cause[] {
  if (next.length !== old.length) return [forbidden(path, 'containers may not be added or removed on resize')];
  const errs: Cause[] = [];
  old.forEach((c, i) => {
    if (next[i]?.name !== c.name) errs.push(forbidden(path.index(i).child('name'), 'containers may not be renamed or reordered on resize'));
  });
  return errs;
}

/**
 * ValidatePodResize: `pod` is the stored pod with the request's resources
 * applied (podResizeStrategy's PrepareForUpdate), after defaulting.
 */
export function validatePodResize(pod: Pod, old: Pod): Cause[] {
  const errs: Cause[] = [...validateObjectMetaUpdate(pod.metadata, old.metadata, Path.root('metadata')), ...validatePodSpec(pod.spec, Path.root('spec'))];
  const specPath = Path.root('spec');
  const next: PodSpec = pod.spec ?? {};
  const prev: PodSpec = old.spec ?? {};
  const oldQos = old.status?.qosClass || qosClass(old);
  const newQos = qosClass(pod);
  if (oldQos !== newQos) errs.push(invalid(specPath, newQos, 'Pod QOS Class may not change as a result of resizing'));
  const ordering = [
    ...validateOrdering(next.initContainers ?? [], prev.initContainers ?? [], specPath.child('initContainers')),
    ...validateOrdering(next.containers ?? [], prev.containers ?? [], specPath.child('containers')),
  ];
  if (ordering.length > 0) return [...errs, ...ordering];
  const initPath = specPath.child('initContainers');
  const containersPath = specPath.child('containers');
  (prev.initContainers ?? []).forEach((c, i) => {
    if (isSidecar(c)) errs.push(...validateNoRemoval(next.initContainers?.[i]?.resources, c.resources, initPath.index(i).child('resources')));
  });
  (prev.containers ?? []).forEach((c, i) =>
    errs.push(...validateNoRemoval(next.containers?.[i]?.resources, c.resources, containersPath.index(i).child('resources'))),
  );
  errs.push(...validateNoRemoval(next.resources, prev.resources, specPath.child('resources')));
  // With cpu and memory put back, nothing else may differ.
  const munged: PodSpec = {
    ...next,
    containers: (next.containers ?? []).map((c, i) => ({ ...c, resources: withOldCpuMemoryResources(c.resources, prev.containers?.[i]?.resources) })),
    initContainers: (next.initContainers ?? []).map((c, i) => {
      const was = prev.initContainers?.[i];
      if (!isSidecar(was)) return c;
      return { ...c, resources: withOldCpuMemoryResources(c.resources, was?.resources) };
    }),
    ...(next.resources || prev.resources ? { resources: withOldCpuMemoryResources(next.resources, prev.resources) } : {}),
  };
  munged.containers!.forEach((c, i) => {
    if (!semanticEqual(c, prev.containers?.[i])) errs.push(forbidden(specPath, 'only cpu and memory resources are mutable'));
  });
  munged.initContainers!.forEach((c, i) => {
    if (!semanticEqual(c, prev.initContainers?.[i])) {
      errs.push(
        forbidden(
          specPath,
          isSidecar(prev.initContainers?.[i])
            ? 'only cpu and memory resources for sidecar containers are mutable'
            : 'only cpu and memory resources are mutable',
        ),
      );
    }
  });
  if (errs.length === 0 && !semanticEqual(munged, prev)) errs.push(forbidden(specPath, 'only cpu and memory resources are mutable'));
  return errs;
}
