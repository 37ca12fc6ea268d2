// Times in the API's form. Kubernetes' metav1.Time marshals as RFC 3339 in
// UTC to the second ("2006-01-02T15:04:05Z"); every timestamp tsk writes into
// an object (creationTimestamp, conditions, container states, events) uses it.

/** The last second formatted: an API server stamps thousands of objects within one second. */
let lastSecond = NaN;
let lastText = '';

/** RFC 3339 to the second in UTC, as Kubernetes' metav1.Time: "2024-05-01T12:00:00Z". */
export function rfc3339(t: number | Date): string {
  const second = Math.floor((typeof t === 'number' ? t : t.getTime()) / 1000);
  if (second !== lastSecond) {
    // An invalid time throws here (RangeError), every time: NaN never equals lastSecond.
    lastText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSecond = second;
  }
  return lastText;
}

/**
 * RFC 3339 with microseconds in UTC, as Kubernetes' metav1.MicroTime (a
 * Lease's acquireTime and renewTime): "2024-05-01T12:00:00.123000Z".
 */
export function rfc3339Micro(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The instant of an RFC 3339 time (with or without fractions), or undefined when it is not one. */
export function parseRfc3339(s: string): number | undefined {
  if (!RFC3339_RE.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}
