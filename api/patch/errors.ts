// The error every patch function throws: what is wrong with the patch, in
// Kubernetes' words, and the Status reason the API server answers with
// (BadRequest 400 for a malformed patch, Invalid 422 for one that cannot
// apply to this object: a failed JSON patch test, a missing path).

export type PatchErrorReason = 'BadRequest' | 'Invalid';

export class PatchError extends Error {
  constructor(
    message: string,
    readonly reason: PatchErrorReason = 'BadRequest',
  ) {
    super(message);
    this.name = 'PatchError';
  }
}
