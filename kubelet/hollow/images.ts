// The image service of a hollow node: every image is "pulled" at once and
// recorded, so the kubelet's pull policies, events and image IDs work as on a
// real node without a byte downloaded.

import { createHash } from 'node:crypto';
import type { ImageService } from '../images';
import type { ImageRecord } from '../runtime/image/types';

export class HollowImages implements ImageService {
  private readonly images = new Map<string, ImageRecord>();

  async get(ref: string): Promise<ImageRecord | undefined> {
    return this.images.get(ref);
  }

  async pull(ref: string): Promise<ImageRecord> {
    let image = this.images.get(ref);
    if (!image) {
      const id = `sha256:${createHash('sha256').update(ref).digest('hex')}`;
      image = {
        id,
        references: [ref],
        config: { entrypoint: [], cmd: ['/pause'], env: [], workingDir: '', user: '', exposedPorts: [], labels: {} },
        layerDirs: [],
        size: 0,
        created: new Date(0).toISOString(),
      };
      this.images.set(ref, image);
    }
    return image;
  }
}
