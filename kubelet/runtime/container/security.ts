// From a container's requested security (runtime.ts ContainerSecurity) to
// what the shim applies: capability mask, no_new_privs, seccomp filter,
// masked paths, groups and OOM score. Pure apart from reading a Localhost
// seccomp profile, which the caller passes in as a function.

import * as path from 'node:path';
import type { ContainerSecurity, SeccompChoice } from '../runtime';
import { CapabilityError, capabilityNamesMask, computeCapabilities } from './capabilities';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default';
import { hostSeccompContext, renderSeccomp, SeccompContext, SeccompProfile } from './seccomp';
import { MASKED_PATHS, READONLY_PATHS } from './spec';
import { errorMessage } from '../../../util/errors';

export interface SecurityPlan {
  capabilities: string[];
  capMask: string;
  noNewPrivs: boolean;
  /** The seccomp file's text; undefined: no filter. */
  seccomp: string | undefined;
  readonlyRootfs: boolean;
  privileged: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** The user's groups plus the supplemental ones, each once. */
  extraGids: number[];
  oomScoreAdj: number;
}

export class SecurityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecurityConfigError';
  }
}

/** Where a Localhost profile is: relative names under <dataDir>/seccomp, never outside it. */
export function localhostProfilePath(dataDir: string, profile: string): string {
  if (path.isAbsolute(profile)) return profile;
  if (profile === '' || profile.split('/').includes('..')) {
    throw new SecurityConfigError(
      `seccomp profile "${profile}": a Localhost profile must be a relative path without ".." (under ${path.join(dataDir, 'seccomp')})`,
    );
  }
  return path.join(dataDir, 'seccomp', profile);
}

function checkGid(container: string, g: number): void {
  if (!Number.isInteger(g) || g < 0 || g > 0xfffffffe) throw new SecurityConfigError(`container "${container}": supplemental group ${g} is not a valid gid`);
}

export interface PlanInput {
  container: string;
  security: ContainerSecurity | undefined;
  userGids: number[];
  /** Reads a Localhost profile (throws SeccompProfileError or a file error). */
  loadProfile: (choice: Extract<SeccompChoice, { type: 'Localhost' }>) => SeccompProfile;
  context?: (capabilities: string[]) => SeccompContext;
}

/** RuntimeDefault rendered per context: every container of a batch of pods has the same one, and rendering it was a part of each start. */
const defaultSeccompByContext = new Map<string, string>();
const MAX_DEFAULT_SECCOMP_RENDERINGS = 64;

function renderDefaultSeccomp(ctx: SeccompContext): string {
  const key = JSON.stringify([ctx.arch, ctx.kernel, [...ctx.capabilities].sort()]);
  let text = defaultSeccompByContext.get(key);
  if (text === undefined) {
    text = renderSeccomp(DEFAULT_SECCOMP_PROFILE, ctx);
    // Capability sets are few; the bound only keeps a pathological mix from growing without end.
    if (defaultSeccompByContext.size >= MAX_DEFAULT_SECCOMP_RENDERINGS) defaultSeccompByContext.clear();
    defaultSeccompByContext.set(key, text);
  }
  return text;
}

/** Throws SecurityConfigError naming the container and the field. */
export function planSecurity(input: PlanInput): SecurityPlan {
  const { container, security: sec = {} } = input;
  const privileged = sec.privileged === true;
  let capabilities: string[];
  try {
    capabilities = computeCapabilities({ add: sec.capAdd ?? [], drop: sec.capDrop ?? [], privileged });
  } catch (err) {
    if (err instanceof CapabilityError) throw new SecurityConfigError(`container "${container}": ${err.message}`);
    throw err;
  }
  const oomScoreAdj = sec.oomScoreAdj ?? 0;
  if (!Number.isInteger(oomScoreAdj) || oomScoreAdj < -1000 || oomScoreAdj > 1000) {
    throw new SecurityConfigError(`container "${container}": oomScoreAdj ${oomScoreAdj} is not an integer from -1000 to 1000`);
  }
  for (const g of sec.supplementalGroups ?? []) checkGid(container, g);
  // Escalation is what privileged and CAP_SYS_ADMIN containers are for (Kubernetes refuses allowPrivilegeEscalation=false with them).
  const noNewPrivs = sec.noNewPrivileges ?? !(privileged || capabilities.includes('CAP_SYS_ADMIN'));
  const choice: SeccompChoice = sec.seccomp ?? { type: privileged ? 'Unconfined' : 'RuntimeDefault' };
  let seccomp: string | undefined;
  if (choice.type !== 'Unconfined') {
    const ctx = (input.context ?? hostSeccompContext)(capabilities);
    try {
      seccomp = choice.type === 'Localhost' ? renderSeccomp(input.loadProfile(choice), ctx) : renderDefaultSeccomp(ctx);
    } catch (err) {
      throw new SecurityConfigError(`container "${container}": ${errorMessage(err)}`);
    }
  }
  return {
    capabilities,
    capMask: capabilityNamesMask(capabilities),
    noNewPrivs,
    seccomp,
    readonlyRootfs: sec.readOnlyRootfs === true,
    privileged,
    maskedPaths: privileged || sec.unmaskedProc ? [] : MASKED_PATHS,
    readonlyPaths: privileged || sec.unmaskedProc ? [] : READONLY_PATHS,
    extraGids: [...new Set([...input.userGids, ...(sec.supplementalGroups ?? [])])],
    oomScoreAdj,
  };
}
