// The contract between the image store and the container side of the
// runtime: what a container needs to know about an image to run it.

/** The parts of an OCI image config that decide how a container runs. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  /** KEY=VALUE, as in the OCI config. */
  env: string[];
  workingDir: string;
  /** "", "uid", "uid:gid", "name" or "name:group", resolved against the rootfs. */
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
}

/** An image present in the local store, ready to be used as a rootfs. */
export interface ImageRecord {
  /** sha256:... of the image config blob (Docker's IMAGE ID). */
  id: string;
  /** Every reference that points at this image, normalized (docker.io/library/busybox:latest). */
  references: string[];
  /** Digest of the manifest it was pulled or imported as, when known ("sha256:..."). */
  manifestDigest?: string;
  config: ImageConfig;
  /** Absolute paths of the unpacked layer directories, bottom layer first; overlayfs lowerdirs in reverse. */
  layerDirs: string[];
  /** Sum of compressed layer sizes, bytes. */
  size: number;
  /** RFC 3339. */
  created: string;
}
