import test from 'ava';
import type { ApiObject } from '../api/kinds';
import type { WatchEvent } from '../client';
import { compareWithList, WatchView } from './watcher';

const pod = (name: string, rv: string): ApiObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } }) as ApiObject;
const ev = (type: WatchEvent<ApiObject>['type'], o: ApiObject): WatchEvent<ApiObject> => ({ type, object: o });

test('events in rising order build the view; a repeated or older one is a violation', (t) => {
  const v = new WatchView('Pod');
  v.relist([pod('a', '5')], '10');
  v.apply(ev('ADDED', pod('b', '11')));
  v.apply(ev('MODIFIED', pod('a', '12')));
  v.apply(ev('BOOKMARK', pod('', '15')));
  v.apply(ev('MODIFIED', pod('a', '12')));
  v.apply(ev('DELETED', pod('b', '14')));
  t.deepEqual([...v.objects], [['ns/a', '12']]);
  t.is(v.lastRv, 15n);
  t.deepEqual(
    v.violations.map((x) => x.text),
    [
      'Pod ns/a: MODIFIED event at resourceVersion 12 after 15 (repeated or out of order)',
      'Pod ns/b: DELETED event at resourceVersion 14 after 15 (repeated or out of order)',
    ],
  );
});

test('events of one revision (one transaction) are not violations; a watch resumed before it drops their replays once', (t) => {
  const v = new WatchView('Pod');
  v.relist([], '10');
  v.apply(ev('MODIFIED', pod('a', '11')));
  v.apply(ev('MODIFIED', pod('b', '11')));
  t.is(v.resumeFrom(), '10', 'the revision 11 may have been cut after b');
  v.apply(ev('MODIFIED', pod('a', '11')));
  v.apply(ev('MODIFIED', pod('b', '11')));
  v.apply(ev('MODIFIED', pod('c', '11')));
  v.apply(ev('MODIFIED', pod('c', '11')));
  v.apply(ev('ADDED', pod('d', '12')));
  t.is(v.events, 5);
  t.deepEqual(
    v.violations.map((x) => x.text),
    ['Pod ns/c: MODIFIED event at resourceVersion 11 after 11 (repeated or out of order)'],
  );
  v.apply(ev('BOOKMARK', pod('', '12')));
  t.is(v.resumeFrom(), '12', 'a bookmark completes the revision');
  t.deepEqual(
    [...v.objects].map(([k]) => k),
    ['ns/a', 'ns/b', 'ns/c', 'ns/d'],
  );
});

test('the view compared with a list names what was missed', (t) => {
  const view = new Map([
    ['ns/a', '12'],
    ['ns/gone', '3'],
    ['ns/old', '4'],
  ]);
  t.deepEqual(
    compareWithList('Pod', view, [pod('a', '12'), pod('old', '9'), pod('new', '13')]).map((x) => x.text),
    [
      'Pod ns/old: the watch ended at resourceVersion 4, the list has 9',
      'Pod ns/new (resourceVersion 13) is listed but the watch never delivered it',
      'Pod ns/gone: the watch shows it, the list does not (its DELETED event was missed)',
    ],
  );
  t.deepEqual(compareWithList('Pod', new Map([['ns/a', '12']]), [pod('a', '12')]), []);
});
