// Reading manifests: files, directories (their .yaml/.yml/.json files in name
// order, not recursive, as kubectl without -R) and stdin ("-"). Every
// document keeps where it came from (file, document number, line), so any
// later error can name it.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EVENT_DOCUMENT, YAMLException, loadAll, parseEvents } from 'js-yaml';
import { KUBE_YAML_SCHEMA } from '../util/kube-yaml';
import { CliError } from './errors';
import { errorMessage } from '../util/errors';

export interface ManifestDoc {
  /** The file as the user named it, or "STDIN". */
  readonly source: string;
  /** 1-based number of the document in its file (List items share their list's). */
  readonly index: number;
  /** 1-based line where the document starts. */
  readonly line: number;
  readonly value: unknown;
}

/** "app.yaml (document 2, line 12)": how errors name a document. */
export function docLocation(doc: ManifestDoc): string {
  return `"${doc.source}" (document ${doc.index}, line ${doc.line})`;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Start line of each document, from the parser's events (offsets of each document's first node). */
function documentLines(text: string, source: string): number[] {
  const events = parseEvents(text, { filename: source });
  const lines: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (!ev || ev.type !== EVENT_DOCUMENT) continue;
    const next = events[i + 1] as { start?: number; valueStart?: number } | undefined;
    const offset = next?.start ?? next?.valueStart;
    lines.push(offset === undefined || offset < 0 ? 1 : lineOf(text, offset));
  }
  return lines;
}

/**
 * Parses the text of one manifest file into its non-empty documents. A `kind:
 * List` document is expanded into its items. Throws CliError naming the file
 * and line for invalid YAML.
 */
export function parseManifest(text: string, source: string): ManifestDoc[] {
  let values: unknown[];
  let lines: number[];
  try {
    values = loadAll(text, { schema: KUBE_YAML_SCHEMA, filename: source });
    lines = documentLines(text, source);
  } catch (err) {
    if (err instanceof YAMLException) {
      const line = err.mark ? `line ${err.mark.line + 1}: ` : '';
      throw new CliError(`error parsing ${source}: ${line}${err.reason}`);
    }
    throw new CliError(`error parsing ${source}: ${errorMessage(err)}`);
  }
  const docs: ManifestDoc[] = [];
  values.forEach((value, i) => {
    if (value === null || value === undefined) return;
    const base = { source, index: i + 1, line: lines[i] ?? 1 };
    if (isList(value)) {
      for (const item of value.items) if (item !== null && item !== undefined) docs.push({ ...base, value: item });
    } else {
      docs.push({ ...base, value });
    }
  });
  return docs;
}

function isList(value: unknown): value is { items: unknown[] } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['kind'] === 'string' && v['kind'].endsWith('List') && Array.isArray(v['items']);
}

/** The manifest files a -f argument names, in the order they are applied. */
export async function expandPath(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new CliError(`the path "${path}" does not exist`);
  }
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => MANIFEST_EXT.test(n)).sort();
  if (names.length === 0) throw new CliError(`no manifest files (.yaml, .yml, .json) in directory "${path}"`);
  return names.map((n) => join(path, n));
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads every document of every -f argument. Parses everything before
 * returning, so a bad file anywhere fails the whole command before anything
 * is sent.
 */
export async function readManifests(paths: readonly string[], stdin: NodeJS.ReadableStream, verb = 'apply'): Promise<ManifestDoc[]> {
  if (paths.length === 0) throw new CliError('must specify -f FILENAME');
  const docs: ManifestDoc[] = [];
  for (const p of paths) {
    if (p === '-') {
      docs.push(...parseManifest(await readStream(stdin), 'STDIN'));
      continue;
    }
    for (const file of await expandPath(p)) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      docs.push(...parseManifest(text, file));
    }
  }
  if (docs.length === 0) throw new CliError(`no objects passed to ${verb} (${paths.join(', ')} holds no documents)`);
  return docs;
}
