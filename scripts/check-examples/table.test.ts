import test from 'ava';
import { classify, exitCode, formatTable, type Row } from './table';

test('a failed run is an error named by its first error line, not the "nothing was applied" line', (t) => {
  const r = classify({
    code: 1,
    stdout: '',
    stderr:
      'Warning: something\nerror validating "pods/a.yaml": Pod "a": unknown field "spec.affinity"\nerror: nothing was applied: pods/a.yaml (document 1) was refused\n',
  });
  t.deepEqual(r, { outcome: 'error', message: 'error validating "pods/a.yaml": Pod "a": unknown field "spec.affinity"' });
});

test("the server's refusal is the message, not tsctl's closing line", (t) => {
  const r = classify({
    code: 1,
    stdout: '',
    stderr: 'The Service "s" is invalid: spec.type: Unsupported value: "LoadBalancer"\nerror: nothing was applied: service/s.yaml (document 1) was refused\n',
  });
  t.is(r.message, 'The Service "s" is invalid: spec.type: Unsupported value: "LoadBalancer"');
});

test('a failed run without any output still says what happened', (t) => {
  t.deepEqual(classify({ code: 2, stdout: '', stderr: '' }), { outcome: 'error', message: 'tsctl exited with code 2' });
  t.deepEqual(classify({ code: -1, stdout: '', stderr: '' }), { outcome: 'error', message: 'tsctl did not finish (killed at its timeout)' });
  t.is(
    classify({ code: 1, stdout: '', stderr: 'error: nothing was applied: a.yaml (document 1) was refused\n' }).message,
    'error: nothing was applied: a.yaml (document 1) was refused',
    'nothing else: that line',
  );
});

test('a successful run with a warning line is a warning; without one it is ok with what the server would do', (t) => {
  t.deepEqual(classify({ code: 0, stdout: 'pod/a created (server dry run)\n', stderr: 'Warning: unknown field "spec.x" in Pod "a"; it is ignored\n' }), {
    outcome: 'warning',
    message: 'Warning: unknown field "spec.x" in Pod "a"; it is ignored',
  });
  t.deepEqual(classify({ code: 0, stdout: 'secret/s created (server dry run)\npod/p created (server dry run)\n', stderr: '' }), {
    outcome: 'ok',
    message: 'secret/s created (server dry run); pod/p created (server dry run)',
  });
});

const rows: Row[] = [
  { file: 'pods/simple-pod.yaml', outcome: 'ok', message: 'pod/nginx created (server dry run)' },
  { file: 'a.yaml', outcome: 'error', message: 'error: x' },
  { file: 'service/s.yaml', outcome: 'warning', message: 'Warning: y' },
];

test('the table aligns its columns and ends with the totals', (t) => {
  t.is(
    formatTable(rows),
    [
      'FILE                   RESULT    MESSAGE',
      'pods/simple-pod.yaml   ok        pod/nginx created (server dry run)',
      'a.yaml                 error     error: x',
      'service/s.yaml         warning   Warning: y',
      '',
      '3 files: 1 ok, 1 warning, 1 error',
      '',
    ].join('\n'),
  );
});

test('the check fails only on errors', (t) => {
  t.is(exitCode(rows), 1);
  t.is(exitCode(rows.filter((r) => r.outcome !== 'error')), 0, 'a warning alone passes');
  t.is(exitCode([]), 0);
});
