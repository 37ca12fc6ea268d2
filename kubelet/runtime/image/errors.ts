// Errors of the image store. Callers (the container side, the kubelet, the
// CLI) tell them apart with instanceof; each message names the reference,
// digest or file it is about so a user can act on it without a stack trace.

/** Base class of every error the image store raises on purpose. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A string that is not a valid image reference (Docker's grammar). */
export class InvalidReferenceError extends ImageError {
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid reference format "${reference}": ${reason}`);
  }
}

/** The image is not in the local store, or the registry does not have it. */
export class ImageNotFoundError extends ImageError {
  constructor(
    readonly reference: string,
    where: 'local' | 'registry',
    detail = '',
  ) {
    super(
      where === 'local' ? `image "${reference}" not found in the local store` : `image "${reference}" not found in the registry${detail ? `: ${detail}` : ''}`,
    );
  }
}

/** Content whose sha256 is not the digest it was asked for or described with. */
export class DigestMismatchError extends ImageError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    what: string,
  ) {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`);
  }
}

/** The registry refused our credentials, or wants credentials we do not have. */
export class RegistryAuthError extends ImageError {
  constructor(
    readonly registry: string,
    detail: string,
  ) {
    super(`authentication with registry ${registry} failed: ${detail}`);
  }
}

/** Any other failure talking to a registry (HTTP status, network, protocol). */
export class RegistryError extends ImageError {
  constructor(
    readonly registry: string,
    detail: string,
  ) {
    super(`registry ${registry}: ${detail}`);
  }
}

/** A manifest, index or config we cannot use (bad JSON, wrong media type, no linux/amd64). */
export class InvalidManifestError extends ImageError {
  constructor(what: string, detail: string) {
    super(`invalid ${what}: ${detail}`);
  }
}

/** A layer tarball we refuse to unpack (corrupt, unsafe paths, unsupported entry). */
export class InvalidLayerError extends ImageError {
  constructor(
    readonly digest: string,
    detail: string,
  ) {
    super(`layer ${digest}: ${detail}`);
  }
}

/** An archive given to import that is neither a docker-save tarball nor an OCI layout. */
export class InvalidArchiveError extends ImageError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`cannot import ${file}: ${detail}`);
  }
}

/** Removing the image would pull it from under a container (Docker's "conflict: ..." wording). */
export class ImageConflictError extends ImageError {}
