// Resolves a Docker/OCI user string ("", "uid", "uid:gid", "name",
// "name:group") against the image's /etc/passwd and /etc/group, as Docker
// does: a name must exist; a numeric uid absent from passwd gets gid 0;
// supplementary groups come from /etc/group memberships.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ResolvedUser {
  uid: number;
  gid: number;
  extraGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) return [];
    return [{ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) return [];
    return [{ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }];
  });
}

const NUMERIC = /^\d+$/;

/** Pure resolution; throws an Error naming the unknown user or group. */
export function resolveUser(spec: string, passwd: PasswdEntry[], groups: GroupEntry[]): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  let entry: PasswdEntry | undefined;
  let uid = 0;
  if (userPart === '') entry = passwd.find((p) => p.uid === 0);
  else if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (entry) uid = entry.uid;
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  const extraGids = entry ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid, gid, extraGids, home: entry?.home ?? '/' };
}

/** The file as the container will see it: from the top-most layer that has it. */
function readFromLayers(layerDirsBottomFirst: string[], rel: string): string {
  for (let i = layerDirsBottomFirst.length - 1; i >= 0; i--) {
    try {
      return fs.readFileSync(path.join(layerDirsBottomFirst[i] ?? '', rel), 'utf8');
    } catch {
      // Not in this layer.
    }
  }
  return '';
}

export function resolveUserInLayers(spec: string, layerDirsBottomFirst: string[]): ResolvedUser {
  const passwd = parsePasswd(readFromLayers(layerDirsBottomFirst, 'etc/passwd'));
  const groups = parseGroup(readFromLayers(layerDirsBottomFirst, 'etc/group'));
  return resolveUser(spec, passwd, groups);
}
