// Image volumes (KEP-4639, volumes[].image): an OCI image pulled as a
// container's image is (same puller: pull policy, imagePullSecrets, back-off,
// events) and mounted read-only at
// <data-dir>/pods/<uid>/volumes/kubernetes.io~image/<name>: an overlay of the
// image's unpacked layers with no upper directory, so nothing can write to
// it, mounted noexec, nosuid and nodev as CRI-O and containerd mount image
// volumes. The container then binds it (or a subPath in it) read-only like
// any volume. As Kubernetes (kuberuntime getImageVolumes), the image is
// resolved when a container that mounts it is about to start; a failed pull
// keeps that container waiting with ErrImagePull / ImagePullBackOff.
//
// The overlay goes with the pod directory (removePodDir unmounts everything
// under it). While it is mounted, image prunes keep its layer directories
// (runtime/container/usage.ts reads the overlays' lowerdirs from mountinfo).

import type { Container, Pod, Volume } from '../../api/gen/tsk/v1/core';
import { volumeHostPath } from '../volumes';

/** The node's overlay mounts (util/mounts isMountPoint and ensureReadOnlyOverlay); absent in unit tests. */
export interface OverlayMounts {
  isMounted(dir: string): boolean;
  /** Mounts a read-only overlay of layers (bottom first) on dir, made if missing. Idempotent. */
  mount(dir: string, layerDirs: readonly string[]): void;
}

/** An image volume a container mounts: the volume, where it goes on the node, and its image. */
export interface ContainerImageVolume {
  volume: Volume;
  hostPath: string;
  reference: string;
  pullPolicy: string;
}

/** The image volumes container c mounts, each once, in the order of the pod's volumes. */
export function containerImageVolumes(pod: Pod, c: Container, dataDir: string): ContainerImageVolume[] {
  const mounted = new Set((c.volumeMounts ?? []).map((m) => m.name ?? ''));
  return (pod.spec?.volumes ?? [])
    .filter((v) => v.image && mounted.has(v.name ?? ''))
    .map((v) => ({
      volume: v,
      hostPath: volumeHostPath(pod, v, dataDir),
      reference: v.image?.reference ?? '',
      // Defaulted by the API server; IfNotPresent for an object that skipped it.
      pullPolicy: v.image?.pullPolicy || 'IfNotPresent',
    }));
}

/**
 * Mounts the image's layers at the volume's directory. Idempotent: a volume
 * already mounted (another container of the pod, an earlier pass) keeps the
 * image it got first, as Kubernetes resolves an image volume once per pod.
 */
export function mountImageVolume(iv: ContainerImageVolume, layerDirs: readonly string[], overlays: OverlayMounts): void {
  try {
    overlays.mount(iv.hostPath, layerDirs);
  } catch (err) {
    throw new Error(`image volume "${iv.volume.name ?? ''}" (${iv.reference}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
