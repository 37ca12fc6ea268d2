// What every invariant checker returns: a list of violations, each naming its
// invariant and saying in a sentence what is wrong. An empty list: it holds.

export type Invariant =
  'machines' | 'replicas' | 'pods-on-nodes' | 'orphan-containers' | 'endpoints' | 'service-answers' | 'lost-objects' | 'watch' | 'api-calls';

export interface Violation {
  readonly invariant: Invariant;
  readonly text: string;
}

export function violation(invariant: Invariant, text: string): Violation {
  return { invariant, text };
}

/** "invariant: text" lines, for the table's detail and the logs. */
export function formatViolations(list: readonly Violation[]): string[] {
  return list.map((v) => `${v.invariant}: ${v.text}`);
}
