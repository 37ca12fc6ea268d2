import test from 'ava';
import { bucketDelta, counterDeltaBy, histogramQuantile, histogramsBy, parseSamples, sampleValue } from './prom-text';

const text = `# HELP apiserver_request_duration_seconds x
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{le="0.1",verb="GET",resource="pods"} 5
apiserver_request_duration_seconds_bucket{le="1",verb="GET",resource="pods"} 9
apiserver_request_duration_seconds_bucket{le="+Inf",verb="GET",resource="pods"} 10
apiserver_request_duration_seconds_bucket{le="0.1",verb="GET",resource="nodes"} 5
apiserver_request_duration_seconds_bucket{le="1",verb="GET",resource="nodes"} 5
apiserver_request_duration_seconds_bucket{le="+Inf",verb="GET",resource="nodes"} 10
apiserver_storage_size_bytes{endpoint="http://127.0.0.1:2379"} 1.5e+06
`;

test('parseSamples and sampleValue read names, labels and values', (t) => {
  const s = parseSamples(text);
  t.is(s.length, 7);
  t.deepEqual(s[0]?.labels, { le: '0.1', verb: 'GET', resource: 'pods' });
  t.is(sampleValue(s, 'apiserver_storage_size_bytes'), 1.5e6);
  t.true(Number.isNaN(sampleValue(s, 'missing')));
});

test('histogramsBy sums the other labels; histogramQuantile interpolates as Prometheus', (t) => {
  const h = histogramsBy(parseSamples(text), 'apiserver_request_duration_seconds', 'verb').get('GET') ?? [];
  t.deepEqual(h, [
    { le: 0.1, count: 10 },
    { le: 1, count: 14 },
    { le: Infinity, count: 20 },
  ]);
  t.is(histogramQuantile(0.5, h), 0.1);
  t.is(histogramQuantile(0.25, h), 0.05);
  t.is(histogramQuantile(0.6, h), 0.1 + 0.9 * (2 / 4));
  t.is(histogramQuantile(0.99, h), 1, 'in +Inf: the highest finite bound');
  t.true(Number.isNaN(histogramQuantile(0.5, [])));
  t.deepEqual(bucketDelta([{ le: 0.1, count: 4 }], h), [
    { le: 0.1, count: 6 },
    { le: 1, count: 14 },
    { le: Infinity, count: 20 },
  ]);
});

test('histogramsBy with several labels keys by their values joined', (t) => {
  const h = histogramsBy(parseSamples(text), 'apiserver_request_duration_seconds', ['verb', 'resource']);
  t.deepEqual([...h.keys()], ['GET pods', 'GET nodes']);
  t.deepEqual(h.get('GET nodes'), [
    { le: 0.1, count: 5 },
    { le: 1, count: 5 },
    { le: Infinity, count: 10 },
  ]);
});

test('counterDeltaBy sums the increase per label values, largest first', (t) => {
  const before = parseSamples('apiserver_request_total{verb="GET",resource="pods",code="200"} 5\n');
  const after = parseSamples(
    [
      'apiserver_request_total{verb="GET",resource="pods",code="200"} 7',
      'apiserver_request_total{verb="GET",resource="pods",code="404"} 1',
      'apiserver_request_total{verb="UPDATE",resource="pods",code="200"} 9',
      'apiserver_request_total{verb="LIST",resource="nodes",code="200"} 0',
    ].join('\n'),
  );
  t.deepEqual(counterDeltaBy(before, after, 'apiserver_request_total', ['verb', 'resource']), [
    ['UPDATE pods', 9],
    ['GET pods', 3],
  ]);
});
