// Who a request comes from, as Kubernetes' user.Info: a name and groups. The
// authenticator (client certificate: CN = name, O = groups; or a bearer
// token) produces one for every request; the authorizer and the admission
// checks decide on it. This file is the contract between the two sides.

import type * as grpc from '@grpc/grpc-js';

export interface UserInfo {
  /** "admin", "system:node:NAME", "system:kube-scheduler", ... */
  readonly name: string;
  /** Always includes GROUP_AUTHENTICATED for an authenticated user. */
  readonly groups: readonly string[];
}

/** Kubernetes' well-known names, the ones tsk's fixed roles key on. */
export const GROUP_MASTERS = 'system:masters';
export const GROUP_NODES = 'system:nodes';
export const GROUP_AUTHENTICATED = 'system:authenticated';
export const NODE_USER_PREFIX = 'system:node:';
export const USER_SCHEDULER = 'system:kube-scheduler';
export const USER_CONTROLLER_MANAGER = 'system:kube-controller-manager';
export const USER_ADMIN = 'admin';

/** The node a user is, when it is a node's identity (system:node:NAME in group system:nodes). */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes(GROUP_NODES) || !user.name.startsWith(NODE_USER_PREFIX)) return undefined;
  const name = user.name.slice(NODE_USER_PREFIX.length);
  return name === '' ? undefined : name;
}

/**
 * Turns a call's transport identity into a user. Returns undefined for an
 * anonymous call (no client certificate, no bearer token); throws an
 * UnauthorizedError (api/errors.ts) for a credential that is present but
 * invalid (unknown token, certificate of another CA, expired).
 */
export interface Authenticator {
  authenticate(call: CallCredentials): UserInfo | undefined;
}

/** What of a gRPC call (unary or stream) identifies its caller: the TLS peer certificate and the metadata. */
export type CallCredentials = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'metadata' | 'getPeer'>;
