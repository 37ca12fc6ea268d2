import test from 'ava';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../api/errors';
import { formatError } from './errors';

test("API errors read as kubectl's", (t) => {
  t.is(formatError(new UnauthorizedError()), 'error: You must be logged in to the server (Unauthorized)');
  t.is(formatError(new NotFoundError('Pod', 'web')), 'Error from server (NotFound): pods "web" not found');
  t.is(
    formatError(new ForbiddenError('pods', '', 'User "alice" cannot list resource "pods"')),
    'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods"',
  );
  t.is(formatError(new Error('boom')), 'error: boom');
});
