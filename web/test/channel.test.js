import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, resizeFrame, parse, exitStatus, execQuery, STDIN, RESIZE, STDOUT } from '../src/lib/channel.js';

test('frames carry the channel first', () => {
  assert.deepEqual([...frame(STDIN, 'hi')], [0, 104, 105]);
  assert.deepEqual([...frame(STDIN, new Uint8Array([1, 2]))], [0, 1, 2]);
  const r = resizeFrame(80, 24);
  assert.equal(r[0], RESIZE);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(r.subarray(1))), { Width: 80, Height: 24 });
});

test('parse splits channel and data', () => {
  const m = parse(new Uint8Array([STDOUT, 65, 66]).buffer);
  assert.equal(m.channel, STDOUT);
  assert.equal(new TextDecoder().decode(m.data), 'AB');
  assert.equal(parse(new ArrayBuffer(0)).channel, -1);
});

test('exit status from the Status on channel 3', () => {
  assert.deepEqual(exitStatus('{"metadata":{},"status":"Success"}'), { code: 0, message: '' });
  const fail = JSON.stringify({ status: 'Failure', message: 'command terminated with non-zero exit code: exit status 3', reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  assert.equal(exitStatus(fail).code, 3);
  assert.deepEqual(exitStatus(JSON.stringify({ status: 'Failure', message: 'container not found' })), { code: null, message: 'container not found' });
  assert.deepEqual(exitStatus('plain text error'), { code: null, message: 'plain text error' });
});

test('exec query: command words in order, tty or stderr', () => {
  const q = new URLSearchParams(execQuery({ container: 'app', command: ['sh', '-c', 'echo $((6*7))'] }));
  assert.deepEqual(q.getAll('command'), ['sh', '-c', 'echo $((6*7))']);
  assert.equal(q.get('tty'), 'true');
  assert.equal(q.get('stdin'), 'true');
  assert.equal(q.get('stderr'), null, 'a tty has no separate stderr');
  const p = new URLSearchParams(execQuery({ command: ['true'], tty: false, stdin: false }));
  assert.equal(p.get('stderr'), 'true');
  assert.equal(p.get('stdin'), null);
  assert.equal(p.get('container'), null);
});
