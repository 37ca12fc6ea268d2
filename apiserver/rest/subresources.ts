// Subresources with bodies of their own kind: replicationcontrollers/scale
// (autoscaling/v1 Scale), pods/binding (v1 Binding), and the
// SelfSubjectAccessReview of `kubectl auth can-i` (answered by the same
// authorizer that decides every request).

import type { JsonObject } from '../../api/codec';
import { ConflictError, InvalidError, BadRequestError } from '../../api/errors';
import type { Binding, ReplicationController } from '../../api/gen/tsk/v1/core';

import { MAX_REQUEST_BYTES } from '../grpc/server';
import { bindPod } from '../registry/pods';
import type { RestDeps, RestRequest } from './context';
import { managerOf, updateRecorder } from './field-manager';
import { readBody, readObject, sendJson } from './http';
import { decodeReviewProtobuf } from './protobuf-review';
import { decodeObject, parseFieldValidation } from './objects';
import { parseDryRun } from './query';

const SCALE = { apiVersion: 'autoscaling/v1', kind: 'Scale' };

function selectorText(sel: Record<string, string> | undefined): string {
  return Object.entries(sel ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
}

/** An RC's Scale: spec.replicas as desired, status as counted, the selector as a label selector string. */
export function scaleOf(rc: ReplicationController): JsonObject {
  const m = rc.metadata ?? {};
  const metadata: JsonObject = { name: m.name ?? '', namespace: m.namespace ?? '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '' };
  if (m.creationTimestamp) metadata['creationTimestamp'] = m.creationTimestamp;
  return {
    ...SCALE,
    metadata,
    spec: { replicas: rc.spec?.replicas ?? 1 },
    status: { replicas: rc.status?.replicas ?? 0, selector: selectorText(rc.spec?.selector) },
  };
}

function admit(r: RestRequest, verb: string, resource: string, subresource: string): ReturnType<RestRequest['gate']['admit']> {
  return r.gate.admit(r.credentials, { verb, apiGroup: '', resource, subresource, namespace: r.info.namespace || 'default', name: r.info.name });
}

/** The replicas a Scale asks for, and the resourceVersion it was read at ("" for none). */
export function parseScale(body: JsonObject, name: string): { replicas: number; resourceVersion: string } {
  const spec = body['spec'];
  const replicas = spec && typeof spec === 'object' && !Array.isArray(spec) ? spec['replicas'] : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new InvalidError('Scale', name, [
      {
        field: 'spec.replicas',
        message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
        reason: 'FieldValueInvalid',
      },
    ]);
  }
  const meta = body['metadata'];
  const rv = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta['resourceVersion'] : undefined;
  return { replicas, resourceVersion: typeof rv === 'string' ? rv : '' };
}

export async function getScale(deps: RestDeps, r: RestRequest): Promise<void> {
  admit(r, 'get', 'replicationcontrollers', 'scale');
  const rc = (await deps.registries.get('ReplicationController')!.get(r.info.namespace, r.info.name)) as ReplicationController;
  sendJson(r.res, 200, scaleOf(rc));
}

/** PUT scale: the RC's spec.replicas, at the Scale's resourceVersion when it names one (else retried on races). */
export async function putScale(deps: RestDeps, r: RestRequest): Promise<void> {
  const ctx = admit(r, 'update', 'replicationcontrollers', 'scale');
  const body = await readObject(r.req, SCALE.kind);
  const manager = managerOf(r.query.get('fieldManager'), r.req.headers['user-agent'], 'UpdateOptions');
  await writeScale(deps, r, ctx, manager, () => body);
}

/**
 * The Scale's type name for RestExtensions.patch: Kubernetes' autoscaling/v1
 * Scale has no tsk message (api/gen/schema.ts), so a patch module must treat
 * it as plain JSON (its fields are scalars: merge semantics throughout).
 */
export const SCALE_TYPE_NAME = 'autoscaling.v1.Scale';

/** PATCH scale (`kubectl scale` without --current-replicas sends a merge patch): the patch applied to the Scale as read. */
export async function patchScale(deps: RestDeps, r: RestRequest): Promise<void> {
  const ctx = admit(r, 'patch', 'replicationcontrollers', 'scale');
  const body = (await readBody(r.req, MAX_REQUEST_BYTES)).toString('utf8');
  const contentType = (r.req.headers['content-type'] ?? '').split(';')[0]!.trim();
  const fieldManager = r.query.get('fieldManager') ?? undefined;
  const opts = { force: r.query.get('force') === 'true', ...(fieldManager !== undefined ? { fieldManager } : {}) };
  const manager = managerOf(r.query.get('fieldManager'), r.req.headers['user-agent'], 'PatchOptions');
  await writeScale(deps, r, ctx, manager, (live) => deps.extensions.patch(SCALE_TYPE_NAME, live, body, contentType, opts));
}

/**
 * Sets the RC's replicas from the Scale `next` makes of the live one;
 * retried on races unless the Scale names a resourceVersion. The change is
 * `manager`'s Update entry with subresource "scale" on the RC, as
 * Kubernetes' ScaleHandler records it on the parent.
 */
async function writeScale(
  deps: RestDeps,
  r: RestRequest,
  ctx: ReturnType<RestRequest['gate']['admit']>,
  manager: string,
  next: (live: JsonObject) => JsonObject,
): Promise<void> {
  const reg = deps.registries.get('ReplicationController')!;
  for (let attempt = 0; ; attempt++) {
    const rc = (await reg.get(r.info.namespace, r.info.name)) as ReplicationController;
    const live = scaleOf(rc);
    const body = next(live);
    if ((body['kind'] !== undefined && body['kind'] !== SCALE.kind) || (body['apiVersion'] !== undefined && body['apiVersion'] !== SCALE.apiVersion)) {
      throw new BadRequestError(`the body must be an ${SCALE.apiVersion} ${SCALE.kind}`);
    }
    const { replicas, resourceVersion } = parseScale(body, r.info.name);
    // A patch keeps the live resourceVersion: it pins nothing.
    const pinned = resourceVersion !== '' && resourceVersion !== (live['metadata'] as JsonObject)['resourceVersion'];
    rc.spec = { ...rc.spec, replicas };
    if (resourceVersion !== '') rc.metadata = { ...rc.metadata, resourceVersion };
    try {
      const hooks = {
        ...r.gate.writeAdmission(ctx, 'ReplicationController', ''),
        managedFields: updateRecorder('ReplicationController', { manager, subresource: 'scale', now: deps.now }),
      };
      const updated = await reg.update(rc, false, parseDryRun(r.query), hooks);
      sendJson(r.res, 200, scaleOf(updated as ReplicationController), ctx.warnings);
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || pinned || attempt >= 4) throw err;
    }
  }
}

/** POST pods/NAME/binding: the scheduler's bind, as gRPC's PodService.Bind. */
export async function createBinding(deps: RestDeps, r: RestRequest): Promise<void> {
  admit(r, 'create', 'pods', 'binding');
  const body = await readObject(r.req, 'Binding');
  const { value } = decodeObject<Binding>('tsk.v1.Binding', body, { apiVersion: 'v1', kind: 'Binding' }, parseFieldValidation(r.query.get('fieldValidation')));
  value.metadata = { ...value.metadata, name: value.metadata?.name || r.info.name, namespace: r.info.namespace };
  if (value.metadata.name !== r.info.name)
    throw new BadRequestError(`the name of the binding (${value.metadata.name}) does not match the pod on the URL (${r.info.name})`);
  await bindPod(deps.registries.get('Pod')!, value, deps.now);
  sendJson(r.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

function stringField(obj: JsonObject, name: string): string {
  const v = obj[name];
  return typeof v === 'string' ? v : '';
}

/** POST selfsubjectaccessreviews: whether the caller may do what the spec describes, by the authorizer. */
export async function selfSubjectAccessReview(r: RestRequest): Promise<void> {
  const user = r.gate.authenticate(r.credentials);
  r.gate.authorize(user, { verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' });
  const protobuf = (r.req.headers['content-type'] ?? '').startsWith('application/vnd.kubernetes.protobuf');
  const body = protobuf ? decodeReviewProtobuf(await readBody(r.req, MAX_REQUEST_BYTES)) : await readObject(r.req, 'SelfSubjectAccessReview');
  const spec = (body['spec'] ?? {}) as JsonObject;
  const res = spec['resourceAttributes'] as JsonObject | undefined;
  const nonRes = spec['nonResourceAttributes'] as JsonObject | undefined;
  if ((res === undefined) === (nonRes === undefined)) {
    throw new InvalidError('SelfSubjectAccessReview', '', [
      {
        field: 'spec.resourceAttributes',
        message: 'Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
        reason: 'FieldValueInvalid',
      },
    ]);
  }
  const decision = res
    ? r.gate.decide(user, {
        verb: stringField(res, 'verb'),
        apiGroup: stringField(res, 'group'),
        resource: stringField(res, 'resource'),
        subresource: stringField(res, 'subresource'),
        namespace: stringField(res, 'namespace'),
        name: stringField(res, 'name'),
      })
    : r.gate.decide(user, { verb: stringField(nonRes!, 'verb'), path: stringField(nonRes!, 'path') });
  const status: JsonObject = { allowed: decision.allowed };
  if (decision.reason) status['reason'] = decision.reason;
  sendJson(r.res, 201, { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec, status });
}
