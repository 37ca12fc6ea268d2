// Times in the API's form. Kubernetes' metav1.Time marshals as RFC 3339 in
// UTC to the second ("2006-01-02T15:04:05Z"); every timestamp tsk writes into
// an object (creationTimestamp, conditions, container states, events) uses it.

/** RFC 3339 to the second in UTC, as Kubernetes' metav1.Time: "2024-05-01T12:00:00Z". */
export function rfc3339(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
