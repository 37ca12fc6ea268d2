// Image pulls for containers (Kubernetes' images.imageManager
// EnsureImageExists): imagePullPolicy decides between the local store and a
// pull; concurrent pulls of one reference share one pull; failures back off
// per pod and image (ErrImagePull, then ImagePullBackOff); progress is
// logged per layer phase.

import type { EventType } from '../client';
import { BackoffTable, IMAGE_BACKOFF } from './backoff';
import type { ImageRecord } from './runtime/image/types';
import type { PullOptions } from './runtime/image/store';
import { InvalidReferenceError, RegistryAuthError } from './runtime/image/errors';
import type { Credentials } from './runtime/image/registry-client';
import { errorMessage } from '../util/errors';

/** What the kubelet needs of the image store (ImageStore implements it). */
export interface ImageService {
  get(ref: string): Promise<ImageRecord | undefined>;
  pull(ref: string, opts?: PullOptions): Promise<ImageRecord>;
}

/** A container that cannot get its image: the waiting reason and message of its status. */
export class ImagePullError extends Error {
  constructor(
    readonly reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName',
    message: string,
  ) {
    super(message);
    this.name = 'ImagePullError';
  }
}

export type ImageEvent = (type: EventType, reason: string, message: string) => void;

export interface ImagePullerOptions {
  now: () => number;
  log: (line: string) => void;
  insecureRegistries?: string[];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

export class ImagePuller {
  private readonly inflight = new Map<string, Promise<ImageRecord>>();
  private readonly backoff = new BackoffTable(IMAGE_BACKOFF);
  /** When each pod/image key last failed to pull. */
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly images: ImageService,
    private readonly opts: ImagePullerOptions,
  ) {}

  /**
   * The image for a container, pulled if its policy says so. `key` names the
   * pod (back-off is per pod and image); `event` records Kubernetes' events;
   * `credentials` (from the pod's imagePullSecrets) are tried in turn, else
   * the pull is anonymous. Throws ImagePullError.
   */
  async ensure(ref: string, policy: string, key: string, event: ImageEvent, credentials: readonly Credentials[] = []): Promise<ImageRecord> {
    let present: ImageRecord | undefined;
    try {
      present = await this.images.get(ref);
    } catch (err) {
      if (err instanceof InvalidReferenceError) {
        event('Warning', 'InspectFailed', `Failed to apply default image tag "${ref}": ${err.message}`);
        throw new ImagePullError('InvalidImageName', `Failed to apply default image tag "${ref}": ${err.message}`);
      }
      present = undefined;
    }
    const mustPull = policy === 'Always' || (policy !== 'Never' && present === undefined);
    if (!mustPull) {
      if (present) {
        event('Normal', 'Pulled', `Container image "${ref}" already present on machine`);
        return present;
      }
      const msg = `Container image "${ref}" is not present with pull policy of Never`;
      event('Warning', 'ErrImageNeverPull', msg);
      throw new ImagePullError('ErrImageNeverPull', msg);
    }
    const bkey = `${key}/${ref}`;
    const failed = this.failedAt.get(bkey);
    if (failed !== undefined && this.backoff.remaining(bkey, failed, this.opts.now()) > 0) {
      event('Normal', 'BackOff', `Back-off pulling image "${ref}"`);
      throw new ImagePullError('ImagePullBackOff', `Back-off pulling image "${ref}"`);
    }
    event('Normal', 'Pulling', `Pulling image "${ref}"`);
    const start = this.opts.now();
    try {
      const rec = await this.withCredentials(ref, credentials);
      this.failedAt.delete(bkey);
      const took = seconds(this.opts.now() - start);
      event('Normal', 'Pulled', `Successfully pulled image "${ref}" in ${took} (${took} including waiting). Image size: ${rec.size} bytes.`);
      return rec;
    } catch (err) {
      const msg = `Failed to pull image "${ref}": ${errorMessage(err)}`;
      this.failedAt.set(bkey, this.opts.now());
      this.backoff.next(bkey, this.opts.now());
      event('Warning', 'Failed', msg);
      throw new ImagePullError('ErrImagePull', msg);
    }
  }

  /** Kubernetes' keyring order: each credential until one is accepted; the last failure otherwise. */
  private async withCredentials(ref: string, credentials: readonly Credentials[]): Promise<ImageRecord> {
    if (credentials.length === 0) return this.shared(ref, undefined);
    let last: unknown;
    for (const c of credentials) {
      try {
        return await this.shared(ref, c);
      } catch (err) {
        if (!(err instanceof RegistryAuthError)) throw err;
        last = err;
      }
    }
    throw last;
  }

  /** One pull per reference and credential at a time; callers arriving meanwhile share it. */
  private shared(ref: string, auth: Credentials | undefined): Promise<ImageRecord> {
    // Never the password in a key: only who asks.
    const key = auth ? `${ref}\0${auth.username}` : ref;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.pull(ref, auth).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async pull(ref: string, auth: Credentials | undefined): Promise<ImageRecord> {
    const phases = new Map<string, string>();
    this.opts.log(`pulling image "${ref}"`);
    const rec = await this.images.pull(ref, {
      ...(this.opts.insecureRegistries ? { insecureRegistries: this.opts.insecureRegistries } : {}),
      ...(auth ? { auth } : {}),
      onProgress: (p) => {
        if (phases.get(p.digest) === p.phase) return;
        phases.set(p.digest, p.phase);
        const what = p.phase === 'done' && p.cached ? 'already exists' : p.phase;
        this.opts.log(`pulling image "${ref}": layer ${p.digest.slice(7, 19)} ${what} (${p.bytesTotal} bytes)`);
      },
    });
    this.opts.log(`pulled image "${ref}" (${rec.id})`);
    return rec;
  }

  /** Forgets back-offs of pods for which `keep` is false. */
  prune(keep: (podKey: string) => boolean): void {
    for (const k of this.failedAt.keys()) if (!keep(k.slice(0, k.indexOf('/')))) this.failedAt.delete(k);
    this.backoff.prune((k) => keep(k.slice(0, k.indexOf('/'))));
  }
}
