// tsk.v1.Bootstrap: how nodes and control-plane components join. Two calls
// are open to anonymous callers (the lead's authorization gate must let
// them through): GetClusterInfo (the CA, public anyway) and
// IssueCertificate (the join token in the request is the credential; a
// client certificate renews itself). CreateToken, ListTokens and
// DeleteToken are for admins (group system:masters) only.

import type * as grpc from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ApiError, BadRequestError, InternalError, toServiceError } from '../../api/errors';
import {
  BootstrapService,
  type BootstrapToken,
  type ClusterInfo,
  type CreateTokenRequest,
  type DeleteTokenRequest,
  type DeleteTokenResponse,
  type IssueCertificateRequest,
  type IssuedCertificate,
  type JoinServerRequest,
  type JoinServerResponse,
  type TokenList,
} from '../../api/gen/tsk/v1/bootstrap';
import { formatJoinToken, generateJoinToken, parseJoinToken, TokenFormatError } from '../../util/join-token';
import { csrPublicKeyHash, signCsr, type CertKey } from '../../util/pki';
import { GROUP_MASTERS, GROUP_NODES, type CallCredentials, type UserInfo } from '../auth/user';
import { grantCertificate, type Credential, type Grant } from './issuance';
import { bindNodeKey, type NodeKeyStore } from './node-keys';
import { checkToken, newTokenRecord, USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE, type TokenRecord, type TokenStore } from './tokens';
import { errorDetail, errorMessage } from '../../util/errors';

export interface BootstrapDeps {
  ca: CertKey;
  caHash: string;
  tokens: TokenStore;
  /** Which key each node name joined with (node-keys.ts). */
  nodeKeys: NodeKeyStore;
  /** The caller's identity from its client certificate or bearer token; undefined when anonymous. */
  authenticate: (call: CallCredentials) => UserInfo | undefined;
  now: () => Date;
  log: (msg: string) => void;
  /**
   * Adds a joining server as an etcd member and returns the bootstrap data
   * and its --initial-cluster; absent on a server whose etcd takes no
   * members (started without --cluster-init, or on an external etcd).
   */
  serverJoin?: (name: string, peerUrl: string) => Promise<{ files: Record<string, string>; initialCluster: string[] }>;
}

/** An etcd member name as tsk makes them (host name and a random suffix): DNS-label characters. */
const MEMBER_NAME_RE = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
/** A joiner's peer URL: https, a host and a port. */
const PEER_URL_RE = /^https:\/\/(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/;

/** A joining server's request, checked: one line naming the bad field, or undefined. */
export function joinServerRequestProblem(name: string, peerUrl: string): string | undefined {
  if (!MEMBER_NAME_RE.test(name)) return `name: "${name}" must be lower-case letters, digits, "." and "-" (an etcd member name)`;
  if (!PEER_URL_RE.test(peerUrl)) return `peerUrl: "${peerUrl}" must be https://IP:PORT`;
  return undefined;
}

/** The methods that must stay open to anonymous callers. */
export const ANONYMOUS_METHODS: readonly string[] = [BootstrapService.getClusterInfo.path, BootstrapService.issueCertificate.path];

/** Longest --ttl accepted: a year (a token that should live longer is better made with ttl 0, on purpose). */
const MAX_TTL_SECONDS = 366 * 24 * 3600;

function toPublic(r: TokenRecord): BootstrapToken {
  return { id: r.id, token: '', description: r.description, expires: r.expires ?? '', usages: [...r.usages], created: r.created };
}

type Call<Req> = grpc.ServerUnaryCall<Req, unknown>;

export class Bootstrap {
  constructor(private readonly deps: BootstrapDeps) {}

  private unary<Req, Res>(name: string, fn: (call: Call<Req>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      Promise.resolve()
        .then(() => fn(call))
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            let apiErr: ApiError;
            if (err instanceof ApiError) {
              apiErr = err;
              // Refused joins are what an operator looks for when a node does not come up.
              this.deps.log(`refused ${name} from ${call.getPeer()}: ${err.message}`);
            } else {
              this.deps.log(`bootstrap ${name}: ${errorDetail(err)}`);
              apiErr = new InternalError(errorMessage(err));
            }
            callback(toServiceError(apiErr) as grpc.ServiceError);
          },
        );
    };
  }

  private requireAdmin(call: CallCredentials): UserInfo {
    const user = this.deps.authenticate(call);
    if (user === undefined) throw new ApiError('Unauthorized', 'managing join tokens needs a client certificate (an admin credential)');
    if (!user.groups.includes(GROUP_MASTERS)) throw new ApiError('Forbidden', `user "${user.name}" may not manage join tokens (group ${GROUP_MASTERS} only)`);
    return user;
  }

  private async credentialOf(call: Call<IssueCertificateRequest>): Promise<Credential> {
    const text = call.request.token ?? '';
    if (text === '') {
      const user = this.deps.authenticate(call);
      if (user === undefined) throw new ApiError('Unauthorized', 'a join token or a client certificate is required');
      return { kind: 'user', user };
    }
    let token;
    try {
      token = parseJoinToken(text);
    } catch (err) {
      if (err instanceof TokenFormatError) throw new ApiError('Unauthorized', err.message);
      throw err;
    }
    const record = checkToken(token, await this.deps.tokens.get(token.id), this.deps.caHash, this.deps.now());
    return { kind: 'token', record };
  }

  private async issueCertificate(call: Call<IssueCertificateRequest>): Promise<IssuedCertificate> {
    const req = call.request;
    const credential = await this.credentialOf(call);
    const grant = grantCertificate(credential, {
      identity: req.identity ?? '',
      nodeName: req.nodeName ?? '',
      usage: req.usage ?? '',
      sans: req.sans ?? [],
    });
    const { subject } = grant;
    if ((req.csr ?? '') === '') throw new BadRequestError('csr: a PEM certificate request is required');
    let certificate: string;
    try {
      certificate = await signCsr(
        this.deps.ca,
        req.csr ?? '',
        grant.usage === 'serving' ? { usage: 'server', subject, ...(grant.sans ? { sans: grant.sans } : {}) } : { usage: 'client', subject },
      );
    } catch (err) {
      throw new BadRequestError(`csr: ${errorMessage(err)}`);
    }
    await this.recordNodeKey(credential, grant, req.nodeName ?? '', req.csr ?? '');
    const by = credential.kind === 'token' ? `token ${credential.record.id}` : `user ${credential.user.name}`;
    const names = grant.sans ? ` for ${[...grant.sans.dns, ...grant.sans.ips].join(', ')}` : '';
    this.deps.log(`issued a ${grant.usage} certificate for ${subject.commonName}${names} (${by})`);
    return { certificate, caCertificate: this.deps.ca.certPem };
  }

  /**
   * A node's client certificate binds its name to its key: a token join must
   * match the key the name joined with (or take a deleted Node's name); the
   * node's own renewal moves the binding to its new key, as whoever holds
   * that certificate is the node already. An admin's request binds nothing.
   * Called after signing, so the CSR's signature (holding the key) was checked.
   */
  private async recordNodeKey(credential: Credential, grant: Grant, nodeName: string, csr: string): Promise<void> {
    if (grant.usage !== 'client' || !grant.subject.organizations.includes(GROUP_NODES)) return;
    const name = nodeName.trim();
    const keyHash = csrPublicKeyHash(csr);
    if (credential.kind === 'token') {
      const decision = await bindNodeKey(this.deps.nodeKeys, name, keyHash, this.deps.now());
      if (decision === 'rebind') this.deps.log(`node ${name}: its Node was deleted; the name now belongs to a new key`);
    } else if (!credential.user.groups.includes(GROUP_MASTERS)) {
      await this.deps.nodeKeys.put(name, { keyHash, bound: this.deps.now().toISOString() });
    }
  }

  private async createToken(call: Call<CreateTokenRequest>): Promise<BootstrapToken> {
    this.requireAdmin(call);
    const ttl = call.request.ttlSeconds ?? 0;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) throw new BadRequestError(`ttlSeconds: ${ttl} must be 0 (never expires) or up to a year`);
    const description = call.request.description ?? '';
    for (;;) {
      const token = generateJoinToken(this.deps.caHash);
      // Ids are 36^6: a clash is rare, but overwriting another token would revoke it silently.
      if ((await this.deps.tokens.get(token.id)) !== undefined) continue;
      const record = newTokenRecord(token, { ttlSeconds: ttl, description, usages: [USAGE_AUTHENTICATION], now: this.deps.now() });
      await this.deps.tokens.put(record);
      this.deps.log(`created join token ${token.id}`);
      return { ...toPublic(record), token: formatJoinToken(token) };
    }
  }

  private async listTokens(call: Call<unknown>): Promise<TokenList> {
    this.requireAdmin(call);
    return { items: (await this.deps.tokens.list()).map(toPublic) };
  }

  private async deleteToken(call: Call<DeleteTokenRequest>): Promise<DeleteTokenResponse> {
    this.requireAdmin(call);
    const id = call.request.id ?? '';
    // kubeadm's words; NotFoundError would say `bootstraptokens "ID" not found`.
    if (!(await this.deps.tokens.delete(id))) throw new ApiError('NotFound', `bootstrap token "${id}" not found`, [], { kind: 'BootstrapToken', name: id });
    this.deps.log(`deleted join token ${id}`);
    return {};
  }

  /** A server joining the embedded etcd cluster: the server token only, never an agent's. */
  private async joinServer(call: Call<JoinServerRequest>): Promise<JoinServerResponse> {
    const req = call.request;
    let token;
    try {
      token = parseJoinToken(req.token ?? '');
    } catch (err) {
      if (err instanceof TokenFormatError) throw new ApiError('Unauthorized', err.message);
      throw err;
    }
    const record = checkToken(token, await this.deps.tokens.get(token.id), this.deps.caHash, this.deps.now());
    if (!record.usages.includes(USAGE_CONTROL_PLANE)) {
      throw new ApiError('Forbidden', `token ${record.id} may only join agents; a server joins with the server token (<data-dir>/token on a server)`);
    }
    const join = this.deps.serverJoin;
    if (join === undefined) {
      throw new ApiError('BadRequest', 'this server was not started with --cluster-init: its etcd takes no members (restart it with --cluster-init)');
    }
    const name = req.name ?? '';
    const peerUrl = req.peerUrl ?? '';
    const problem = joinServerRequestProblem(name, peerUrl);
    if (problem !== undefined) throw new BadRequestError(problem);
    let answer;
    try {
      answer = await join(name, peerUrl);
    } catch (err) {
      if (err instanceof Error && err.name === 'MemberRefused') throw new ApiError('Conflict', err.message);
      throw err;
    }
    this.deps.log(`server ${name} (${peerUrl}) joined as an etcd member (token ${record.id})`);
    return { files: answer.files, initialCluster: answer.initialCluster };
  }

  private async clusterInfo(): Promise<ClusterInfo> {
    return { caCertificate: this.deps.ca.certPem };
  }

  /** Adds tsk.v1.Bootstrap to `server`. */
  register(server: grpc.Server): void {
    const handlers: UntypedServiceImplementation = {
      getClusterInfo: this.unary('GetClusterInfo', () => this.clusterInfo()),
      issueCertificate: this.unary('IssueCertificate', (c: Call<IssueCertificateRequest>) => this.issueCertificate(c)),
      createToken: this.unary('CreateToken', (c: Call<CreateTokenRequest>) => this.createToken(c)),
      listTokens: this.unary('ListTokens', (c: Call<unknown>) => this.listTokens(c)),
      deleteToken: this.unary('DeleteToken', (c: Call<DeleteTokenRequest>) => this.deleteToken(c)),
      joinServer: this.unary('JoinServer', (c: Call<JoinServerRequest>) => this.joinServer(c)),
    };
    server.addService(BootstrapService as unknown as ServiceDefinition, handlers);
  }
}
