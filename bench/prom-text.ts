// Reading a component's /metrics for the benchmarks: the samples of the
// Prometheus text format, histogram buckets by one label, the difference of
// two scrapes (what happened between them), and Prometheus' own
// histogram_quantile (linear interpolation inside the bucket).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of a text exposition (comments skipped). */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const raw = m[4] ?? '';
    out.push({ name: m[1] ?? '', labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return out;
}

/** Cumulative bucket counts, ascending by upper bound (+Inf last). */
export type Buckets = { le: number; count: number }[];

/**
 * The buckets of histogram `name` summed per value of `label` (other labels
 * added up); with several labels, per their values joined by " ".
 */
export function histogramsBy(samples: readonly Sample[], name: string, label: string | readonly string[]): Map<string, Buckets> {
  const labels = typeof label === 'string' ? [label] : label;
  const sums = new Map<string, Map<number, number>>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const key = labels.map((l) => s.labels[l] ?? '').join(' ');
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    const m = sums.get(key) ?? new Map<number, number>();
    m.set(le, (m.get(le) ?? 0) + s.value);
    sums.set(key, m);
  }
  const out = new Map<string, Buckets>();
  for (const [key, m] of sums)
    out.set(
      key,
      [...m].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le),
    );
  return out;
}

/** What was observed between two scrapes of the same histogram. */
export function bucketDelta(before: Buckets | undefined, after: Buckets): Buckets {
  return after.map((b) => ({ le: b.le, count: b.count - (before?.find((x) => x.le === b.le)?.count ?? 0) }));
}

/** Prometheus' histogram_quantile: NaN without observations; the highest finite bound when the rank falls in +Inf. */
export function histogramQuantile(q: number, buckets: Buckets): number {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      if (b.count === prevCount) return b.le;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** The value of the first sample of `name` (whose labels include `labels`), or NaN. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? NaN;
}

/** The increase of counter `name` between two scrapes, summed per the values of `labels` (joined by " "), largest first. */
export function counterDeltaBy(before: readonly Sample[], after: readonly Sample[], name: string, labels: readonly string[]): [string, number][] {
  const sum = (samples: readonly Sample[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of samples) {
      if (s.name !== name) continue;
      const key = labels.map((l) => s.labels[l] ?? '').join(' ');
      m.set(key, (m.get(key) ?? 0) + s.value);
    }
    return m;
  };
  const a = sum(before);
  const out: [string, number][] = [];
  for (const [key, v] of sum(after)) if (v - (a.get(key) ?? 0) > 0) out.push([key, v - (a.get(key) ?? 0)]);
  return out.sort((x, y) => y[1] - x[1]);
}
