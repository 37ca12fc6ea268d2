// ObjectMeta validation (Kubernetes' apimachinery ValidateObjectMeta and
// ValidateObjectMetaUpdate): names, generateName, namespace, labels,
// annotations, owner references and finalizers.

import type { Cause } from '../../api/errors';
import type { ObjectMeta, OwnerReference } from '../../api/gen/tsk/v1/meta';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, type LabelSelectorObject, validateLabelValue } from '../../api/labels';
import { forbidden, invalid, invalidEach, Path, required, tooLong } from './field';
import { IMMUTABLE_MSG, NONNEGATIVE_MSG } from './values';

/** Checks a name, or with prefix=true a generateName prefix. */
export type NameValidator = (name: string, prefix: boolean) => string[];

/** A generateName may end in "-": check it as if a character followed. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

export const nameIsDNSSubdomain: NameValidator = (name, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
export const nameIsDNSLabel: NameValidator = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);
export const nameIsDNS1035Label: NameValidator = (name, prefix) => isDNS1035Label(prefix ? maskTrailingDash(name) : name);

/** Kubernetes' limit on the total size of an object's annotations (256 KiB). */
export const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;

/** Label keys must be qualified names and values valid label values. */
export function validateLabels(labels: Readonly<Record<string, string>> | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...invalidEach(path, k, isQualifiedName(k)));
    errs.push(...invalidEach(path, v, validateLabelValue(v)));
  }
  return errs;
}

export function validateAnnotations(annotations: Readonly<Record<string, string>> | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Annotation keys are case-insensitive qualified names.
    errs.push(...invalidEach(path, k, isQualifiedName(k.toLowerCase())));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES));
  return errs;
}

/** The version of an apiVersion ("v1", "apps/v1" -> "v1"). */
function versionOf(apiVersion: string): string {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) return parts[1]!;
  return '';
}

function validateOwnerReference(ref: OwnerReference, path: Path): Cause[] {
  const errs: Cause[] = [];
  if (!versionOf(ref.apiVersion ?? '')) errs.push(invalid(path.child('apiVersion'), ref.apiVersion ?? '', 'version must not be empty'));
  if (!ref.kind) errs.push(invalid(path.child('kind'), ref.kind ?? '', 'kind must not be empty'));
  if (!ref.name) errs.push(invalid(path.child('name'), ref.name ?? '', 'name must not be empty'));
  if (!ref.uid) errs.push(invalid(path.child('uid'), ref.uid ?? '', 'uid must not be empty'));
  return errs;
}

export function validateOwnerReferences(refs: readonly OwnerReference[] | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  let controller = '';
  for (const ref of refs ?? []) {
    // Kubernetes names the list, not the entry, in these causes.
    errs.push(...validateOwnerReference(ref, path));
    if (ref.controller) {
      const name = `${ref.kind ?? ''}/${ref.name ?? ''}`;
      if (controller) {
        errs.push(invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${name}`));
      } else {
        controller = name;
      }
    }
  }
  return errs;
}

export function validateFinalizers(finalizers: readonly string[] | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  for (const f of finalizers ?? []) errs.push(...invalidEach(path, f, isQualifiedName(f)));
  return errs;
}

/** ValidateObjectMeta: for a create (also run on update for the new object). */
export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameFn: NameValidator, path: Path): Cause[] {
  const m = meta ?? {};
  const errs: Cause[] = [];
  const name = m.name ?? '';
  const generateName = m.generateName ?? '';
  if (generateName) errs.push(...invalidEach(path.child('generateName'), generateName, nameFn(generateName, true)));
  if (!name) {
    // The server fills the name from generateName before validating.
    errs.push(required(path.child('name'), 'name or generateName is required'));
  } else {
    errs.push(...invalidEach(path.child('name'), name, nameFn(name, false)));
  }
  const ns = m.namespace ?? '';
  if (namespaced) {
    if (!ns) errs.push(required(path.child('namespace')));
    else errs.push(...invalidEach(path.child('namespace'), ns, isDNS1123Label(ns)));
  } else if (ns) {
    errs.push(forbidden(path.child('namespace'), 'not allowed on this type'));
  }
  if (m.generation !== undefined && m.generation < 0) errs.push(invalid(path.child('generation'), m.generation, NONNEGATIVE_MSG));
  if (m.deletionGracePeriodSeconds !== undefined && m.deletionGracePeriodSeconds !== null && m.deletionGracePeriodSeconds < 0) {
    errs.push(invalid(path.child('deletionGracePeriodSeconds'), m.deletionGracePeriodSeconds, NONNEGATIVE_MSG));
  }
  errs.push(...validateLabels(m.labels, path.child('labels')));
  errs.push(...validateAnnotations(m.annotations, path.child('annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, path.child('ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, path.child('finalizers')));
  return errs;
}

/** Kubernetes' ValidateImmutableField for strings where unset means "". */
export function immutableString(next: string | undefined, old: string | undefined, path: Path): Cause[] {
  return (next ?? '') === (old ?? '') ? [] : [invalid(path, next ?? '', IMMUTABLE_MSG)];
}

/**
 * ValidateObjectMetaUpdate: name, namespace, uid and creationTimestamp never
 * change. An unset uid or creationTimestamp in the request means "keep": the
 * server copies them from the stored object, as Kubernetes' BeforeUpdate.
 */
export function validateObjectMetaUpdate(meta: ObjectMeta | undefined, old: ObjectMeta | undefined, path: Path): Cause[] {
  const m = meta ?? {};
  const o = old ?? {};
  const errs: Cause[] = [];
  errs.push(...immutableString(m.name, o.name, path.child('name')));
  errs.push(...immutableString(m.namespace, o.namespace, path.child('namespace')));
  if (m.uid) errs.push(...immutableString(m.uid, o.uid, path.child('uid')));
  if (m.creationTimestamp) errs.push(...immutableString(m.creationTimestamp, o.creationTimestamp, path.child('creationTimestamp')));
  if (o.deletionTimestamp && m.deletionTimestamp !== o.deletionTimestamp) {
    errs.push(invalid(path.child('deletionTimestamp'), m.deletionTimestamp ?? null, IMMUTABLE_MSG));
  }
  if (o.deletionTimestamp) {
    // A deleted object may lose finalizers, never gain one.
    const had = new Set(o.finalizers ?? []);
    const added = (m.finalizers ?? []).filter((f) => !had.has(f));
    if (added.length > 0)
      errs.push(
        forbidden(path.child('finalizers'), `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`),
      );
  }
  if ((m.generation ?? 0) < (o.generation ?? 0) && m.generation !== undefined && m.generation !== 0) {
    errs.push(invalid(path.child('generation'), m.generation, 'must not be decremented'));
  }
  errs.push(...validateLabels(m.labels, path.child('labels')));
  errs.push(...validateAnnotations(m.annotations, path.child('annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, path.child('ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, path.child('finalizers')));
  return errs;
}

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Kubernetes' metav1validation.ValidateLabelSelector: matchLabels as labels, each matchExpression's operator, values and key. */
export function validateLabelSelector(selector: LabelSelectorObject | undefined, path: Path): Cause[] {
  if (selector === undefined) return [];
  const errs = validateLabels(selector.matchLabels, path.child('matchLabels'));
  (selector.matchExpressions ?? []).forEach((rq, i) => {
    const p = path.child('matchExpressions').index(i);
    const values = rq.values ?? [];
    const op = rq.operator ?? '';
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(required(p.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(forbidden(p.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else if (!SELECTOR_OPERATORS.includes(op)) errs.push(invalid(p.child('operator'), op, 'not a valid selector operator'));
    errs.push(...invalidEach(p.child('key'), rq.key ?? '', isQualifiedName(rq.key ?? '')));
    values.forEach((v, j) => errs.push(...invalidEach(p.child('values').index(j), v, validateLabelValue(v))));
  });
  return errs;
}
