// A watch's or list's filter: namespace, label selector and field selector,
// parsed once per request. Bad selectors are a BadRequest naming the part.

import { BadRequestError } from '../../api/errors';
import { fieldValue, parseFieldSelector } from '../../api/fields';
import type { ApiObject, KindName } from '../../api/kinds';
import { parseSelector } from '../../api/labels';
import { errorMessage } from '../../util/errors';

/** A cached object as a filter sees it: what it can tell without decoding, and the object. */
export interface FilterEntry {
  readonly namespace: string;
  readonly obj: ApiObject;
  /** A selectable field's value, from what the entry keeps when it can (no decode). */
  fieldValue?(field: string): string | undefined;
}

export interface ObjectFilter {
  /** True when every object matches (no selector): lets lists skip the check. */
  readonly everything: boolean;
  matches(obj: ApiObject): boolean;
  /**
   * The same for a cached entry: the namespace comes from its key, and the
   * object is only decoded (by reading `obj`) when a selector needs it.
   */
  matchesEntry(entry: FilterEntry): boolean;
  /** The value the field selector requires `field` to have (`field=value`), or undefined. */
  requiredValue(field: string): string | undefined;
}

export function buildFilter(kind: KindName, namespace: string, labelSelector: string, fieldSelector: string): ObjectFilter {
  let labels: ReturnType<typeof parseSelector> | undefined;
  let fields: ReturnType<typeof parseFieldSelector> | undefined;
  try {
    labels = labelSelector.trim() === '' ? undefined : parseSelector(labelSelector);
  } catch (err) {
    throw new BadRequestError(`invalid labelSelector "${labelSelector}": ${errorMessage(err)}`, [{ field: 'labelSelector', message: errorMessage(err) }]);
  }
  try {
    fields = fieldSelector.trim() === '' ? undefined : parseFieldSelector(fieldSelector, kind);
  } catch (err) {
    throw new BadRequestError(`invalid fieldSelector "${fieldSelector}": ${errorMessage(err)}`, [{ field: 'fieldSelector', message: errorMessage(err) }]);
  }
  const ns = namespace;
  const everything = labels === undefined && fields === undefined && ns === '';
  return {
    everything,
    matches(obj: ApiObject): boolean {
      if (ns !== '' && obj.metadata?.namespace !== ns) return false;
      if (labels && !labels.matches(obj.metadata?.labels ?? {})) return false;
      if (fields && !fields.matches(obj as never)) return false;
      return true;
    },
    matchesEntry(entry): boolean {
      if (ns !== '' && entry.namespace !== ns) return false;
      if (!labels && !fields) return true;
      if (labels && !labels.matches(entry.obj.metadata?.labels ?? {})) return false;
      if (fields && !fields.matchesValues((f) => (entry.fieldValue ? entry.fieldValue(f) : fieldValue(kind, entry.obj as never, f)))) return false;
      return true;
    },
    requiredValue: (field) => fields?.requiresExactMatch(field),
  };
}
