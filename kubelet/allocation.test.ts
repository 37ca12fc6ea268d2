import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALLOCATION_CHECKPOINT, AllocationStore } from './allocation';

const afterTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the changes of one turn of the event loop are written once, together, and read back by a new store', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-allocation-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, ALLOCATION_CHECKPOINT);
  const store = new AllocationStore(dir);
  store.set('a', { containers: { c: { requests: { cpu: '100m' } } } });
  store.set('b', { containers: { c: {} } });
  t.false(fs.existsSync(file), 'not yet: at the end of the turn');
  await afterTurn();
  const first = fs.statSync(file).ino;
  t.deepEqual(Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { pods: object }).pods), ['a', 'b']);
  store.remove('a');
  store.remove('missing');
  await afterTurn();
  t.not(fs.statSync(file).ino, first, 'replaced whole (a temp file renamed)');
  const again = new AllocationStore(dir);
  t.is(again.get('a'), undefined);
  t.deepEqual(again.get('b'), { containers: { c: {} } });
});
