// List continue tokens (Kubernetes' storage/etcd3 continueToken): the last
// key returned and the revision of the list, so the next page is read at the
// same revision and the whole list is one consistent snapshot. Opaque to
// clients (base64url of JSON).

import { BadRequestError } from '../../api/errors';

interface TokenBody {
  v: number;
  rv: number;
  start: string;
}

export function encodeContinue(lastKey: string, revision: number): string {
  const body: TokenBody = { v: 1, rv: revision, start: lastKey };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** Decodes a token for a list under `prefix`; anything else is a BadRequest. */
export function decodeContinue(token: string, prefix: string): { key: string; revision: number } {
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString()) as Partial<TokenBody>;
  } catch {
    throw new BadRequestError('invalid continue token: not produced by this server', [{ field: 'continue', message: 'malformed' }]);
  }
  if (body.v !== 1 || typeof body.rv !== 'number' || !(body.rv > 0) || typeof body.start !== 'string') {
    throw new BadRequestError('invalid continue token: not produced by this server', [{ field: 'continue', message: 'malformed' }]);
  }
  if (!body.start.startsWith(prefix)) {
    throw new BadRequestError('invalid continue token: it belongs to a different list (namespace or kind)', [
      { field: 'continue', message: 'does not match the request' },
    ]);
  }
  return { key: body.start, revision: body.rv };
}
