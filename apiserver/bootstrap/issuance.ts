// Which identity a certificate request gets (Kubernetes' CSR approval for
// kubelets, k3s's node password check, reduced to fixed rules). The CSR's
// own subject is never trusted: the identity comes from the credential.
//   - a join token (usage "authentication"): only system:node:NAME in system:nodes;
//   - the server token (usage "control-plane"): also the scheduler and the controller manager;
//   - a client certificate (renewal): the caller's own identity again.
// A node's serving certificate (usage "serving", Kubernetes' kubelet-serving
// signer) is asked for with the node's own client certificate (or an
// admin's), never a token, for system:node:NAME with the node's name and
// addresses as SANs.
// Pure: the caller checked the token or certificate before.

import { isIP } from 'node:net';
import { ApiError, BadRequestError } from '../../api/errors';
import { GROUP_MASTERS, GROUP_NODES, NODE_USER_PREFIX, USER_CONTROLLER_MANAGER, USER_SCHEDULER, nodeNameOf, type UserInfo } from '../auth/user';
import { USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE, type TokenRecord } from './tokens';

export type Identity = 'node' | 'scheduler' | 'controller-manager';
export const IDENTITIES: readonly Identity[] = ['node', 'scheduler', 'controller-manager'];

export interface GrantedSubject {
  readonly commonName: string;
  readonly organizations: string[];
}

export type Credential = { kind: 'token'; record: TokenRecord } | { kind: 'user'; user: UserInfo };

/** Kubernetes' node names: DNS-1123 subdomains. */
const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function forbidden(message: string): ApiError {
  return new ApiError('Forbidden', message);
}

function parseIdentity(text: string): Identity {
  const found = IDENTITIES.find((i) => i === text);
  if (found === undefined) throw new BadRequestError(`identity: "${text}" is not one of ${IDENTITIES.join(', ')}`);
  return found;
}

function subjectOf(identity: Identity, nodeName: string): GrantedSubject {
  switch (identity) {
    case 'node':
      if (nodeName === '') throw new BadRequestError('nodeName: a node name is required for identity "node"');
      if (nodeName.length > 253 || !NODE_NAME_RE.test(nodeName)) {
        throw new BadRequestError(`nodeName: "${nodeName}" is not a valid node name (lower case letters, digits, '-' and '.')`);
      }
      return { commonName: NODE_USER_PREFIX + nodeName, organizations: [GROUP_NODES] };
    case 'scheduler':
      return { commonName: USER_SCHEDULER, organizations: [] };
    case 'controller-manager':
      return { commonName: USER_CONTROLLER_MANAGER, organizations: [] };
  }
}

function allowedForToken(record: TokenRecord, identity: Identity, subject: GrantedSubject): void {
  if (identity === 'node') {
    if (!record.usages.includes(USAGE_AUTHENTICATION)) throw forbidden(`token ${record.id} may not join nodes`);
    return;
  }
  if (!record.usages.includes(USAGE_CONTROL_PLANE)) {
    throw forbidden(`token ${record.id} may only join nodes; ${subject.commonName} needs the server token (<data-dir>/token on the server)`);
  }
}

function allowedForUser(user: UserInfo, subject: GrantedSubject): void {
  if (user.groups.includes(GROUP_MASTERS)) return;
  // A node subject needs a node user (name and group), so a certificate merely named system:node:X is not that node.
  const nodeSubject = subject.organizations.includes(GROUP_NODES);
  const own = user.name === subject.commonName && (!nodeSubject || nodeNameOf(user) !== undefined);
  if (!own) throw forbidden(`user "${user.name}" may only renew its own certificate, not get one for ${subject.commonName}`);
}

/** The subject to sign for, or a Forbidden/BadRequest error with one line. */
export function grantSubject(credential: Credential, request: { identity: string; nodeName: string }): GrantedSubject {
  const identity = parseIdentity(request.identity);
  const subject = subjectOf(identity, request.nodeName.trim());
  if (credential.kind === 'token') allowedForToken(credential.record, identity, subject);
  else allowedForUser(credential.user, subject);
  return subject;
}

export type CertificateUsage = 'client' | 'serving';

/** The names of a serving certificate, as util/pki's Sans. */
export interface GrantedSans {
  readonly dns: string[];
  readonly ips: string[];
}

export interface Grant {
  readonly subject: GrantedSubject;
  readonly usage: CertificateUsage;
  /** For "serving" only. */
  readonly sans?: GrantedSans;
}

function parseUsage(text: string): CertificateUsage {
  if (text === '' || text === 'client') return 'client';
  if (text === 'serving') return 'serving';
  throw new BadRequestError(`usage: "${text}" is not client or serving`);
}

/**
 * A serving certificate's SANs: IP addresses, and host names that are the
 * node's own name (a node may not claim another host's name). IPs are not
 * checked against the Node's addresses: that object is the node's own word
 * anyway (Kubernetes does not auto-approve kubelet-serving CSRs for this).
 */
function servingSans(nodeName: string, sans: readonly string[]): GrantedSans {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const san of sans) {
    if (isIP(san) !== 0) ips.push(san);
    else if (san === nodeName) dns.push(san);
    else throw new ApiError('Forbidden', `sans: "${san}" is neither an IP address nor the node's name "${nodeName}"`);
  }
  if (dns.length + ips.length === 0) throw new BadRequestError('sans: a serving certificate needs at least one name or IP address');
  return { dns, ips };
}

/** What to sign: subject, usage and SANs, or a Forbidden/BadRequest error with one line. */
export function grantCertificate(credential: Credential, request: { identity: string; nodeName: string; usage: string; sans: readonly string[] }): Grant {
  const usage = parseUsage(request.usage);
  const subject = grantSubject(credential, request);
  if (usage === 'client') {
    if (request.sans.length > 0) throw new BadRequestError('sans: only a serving certificate has names');
    return { subject, usage };
  }
  if (request.identity !== 'node') throw new BadRequestError(`usage: only identity "node" gets a serving certificate, not "${request.identity}"`);
  if (credential.kind === 'token') throw forbidden("a serving certificate is asked for with the node's client certificate, not a join token");
  return { subject, usage, sans: servingSans(request.nodeName.trim(), request.sans) };
}
