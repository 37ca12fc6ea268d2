// Layer paths and whiteouts. OCI layers mark deletions with AUFS-style
// ".wh." files; tsk stores each layer in overlayfs form instead, so the
// layers can be stacked directly as lowerdirs:
//   dir/.wh.name     -> character device 0:0 at dir/name (overlayfs whiteout)
//   dir/.wh..wh..opq -> xattr trusted.overlay.opaque="y" on dir

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export type PathAction =
  | { kind: 'root' }
  | { kind: 'entry'; path: string }
  | { kind: 'whiteout'; path: string }
  | { kind: 'opaque'; dir: string }
  /** Other AUFS metadata (".wh..wh.plnk", ".wh..wh.aufs"): nothing to create. */
  | { kind: 'ignore' };

/**
 * Cleans a tar entry name into a relative path with no "." or empty parts.
 * Returns undefined for a name that escapes the root ("..") — never extracted.
 */
export function cleanLayerPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  return parts.join('/');
}

/** What an entry name means for an overlayfs-form layer; throws on a path escaping the layer. */
export function classifyLayerPath(name: string): PathAction {
  const path = cleanLayerPath(name);
  if (path === undefined) throw new Error(`entry "${name}" escapes the layer root`);
  if (path === '') return { kind: 'root' };
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '' : path.slice(0, slash);
  const base = path.slice(slash + 1);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'entry', path };
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir };
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return { kind: 'ignore' };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..') throw new Error(`entry "${name}" is a whiteout without a valid name`);
  return { kind: 'whiteout', path: dir === '' ? target : `${dir}/${target}` };
}
