// The judgement and the report of `scripts/check-examples.sh`: what one
// tsctl run says about one manifest file (ok, warning or error, and the line
// that says why), the aligned table of every file, and the exit code. Pure,
// so the rules are tested without a server.

export type Outcome = 'ok' | 'warning' | 'error';

export interface Row {
  /** The file, relative to the directory checked. */
  readonly file: string;
  readonly outcome: Outcome;
  /** The line that explains the outcome: tsctl's error, its first warning, or what the server would do. */
  readonly message: string;
}

/** A tsctl run as the checker saw it. */
export interface RunResult {
  /** The exit code; -1 when the run was killed (its timeout). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

/** tsctl's closing line after a refused document: it names only the file, so the line before it is the reason. */
const NOTHING_APPLIED = 'error: nothing was applied:';

/** kubectl's (and tsctl's) warning lines: unknown fields kept as warnings, server warnings. */
const isWarning = (line: string): boolean => /^warning:/i.test(line);

/**
 * One file's outcome. A failed run is an error, named by tsctl's first line
 * that is neither a warning nor the closing "nothing was applied" line (which
 * only repeats the file): the server's or the decoder's reason. A run that succeeded with a warning on stderr is a
 * warning; anything else is ok, with what the server would do.
 */
export function classify(run: RunResult): { outcome: Outcome; message: string } {
  const err = lines(run.stderr);
  if (run.code !== 0) {
    const first = err.find((l) => !isWarning(l) && !l.startsWith(NOTHING_APPLIED)) ?? err[0];
    return { outcome: 'error', message: first ?? (run.code === -1 ? 'tsctl did not finish (killed at its timeout)' : `tsctl exited with code ${run.code}`) };
  }
  const warning = err.find(isWarning);
  if (warning !== undefined) return { outcome: 'warning', message: warning };
  return { outcome: 'ok', message: lines(run.stdout).join('; ') };
}

/** Counts per outcome, in the order of the table's last line. */
export function summarize(rows: readonly Row[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, warning: 0, error: 0 };
  for (const r of rows) counts[r.outcome]++;
  return counts;
}

/** The report: FILE, RESULT and MESSAGE columns aligned as kubectl's tables, then a line of totals. */
export function formatTable(rows: readonly Row[]): string {
  const header: Row = { file: 'FILE', outcome: 'RESULT' as Outcome, message: 'MESSAGE' };
  const all = [header, ...rows];
  const fileWidth = Math.max(...all.map((r) => r.file.length));
  const outcomeWidth = Math.max(...all.map((r) => r.outcome.length));
  const body = all.map((r) => `${r.file.padEnd(fileWidth)}   ${r.outcome.padEnd(outcomeWidth)}   ${r.message}`.trimEnd());
  const c = summarize(rows);
  return `${body.join('\n')}\n\n${rows.length} files: ${c.ok} ok, ${c.warning} warning, ${c.error} error\n`;
}

/** Non-zero when any file is an error: a warning is reported but does not fail the check. */
export function exitCode(rows: readonly Row[]): number {
  return rows.some((r) => r.outcome === 'error') ? 1 : 0;
}
