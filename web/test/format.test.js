import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, podStatus, ready, restarts, statusClass, applyWatchEvent, LineSplitter } from '../src/lib/format.js';

const now = Date.parse('2026-12-01T12:00:00Z');
const ago = (s) => new Date(now - s * 1000).toISOString();

test('age is printed as kubectl does', () => {
  assert.equal(age(ago(5), now), '5s');
  assert.equal(age(ago(119), now), '119s');
  assert.equal(age(ago(200), now), '3m20s');
  assert.equal(age(ago(600), now), '10m');
  assert.equal(age(ago(3 * 3600 + 60 * 5), now), '3h5m');
  assert.equal(age(ago(10 * 3600), now), '10h');
  assert.equal(age(ago(3 * 86400 + 7200), now), '3d2h');
  assert.equal(age(ago(40 * 86400), now), '40d');
  assert.equal(age(ago(-30), now), '0s', 'a clock ahead of ours is not negative');
  assert.equal(age('not a time', now), '<unknown>');
});

const pod = (status, extra = {}) => ({ metadata: { name: 'p', ...extra }, spec: { containers: [{ name: 'a' }, { name: 'b' }] }, status });

test('pod status: running, waiting, terminated, init, terminating', () => {
  assert.equal(podStatus(pod({ phase: 'Running', containerStatuses: [{ ready: true, state: { running: {} } }] })), 'Running');
  assert.equal(podStatus(pod({ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff' } } }] })), 'ImagePullBackOff');
  assert.equal(podStatus(pod({ phase: 'Running', containerStatuses: [{ state: { terminated: { exitCode: 2 } } }] })), 'ExitCode:2');
  assert.equal(podStatus(pod({ phase: 'Running', containerStatuses: [{ state: { terminated: { exitCode: 137, signal: 9 } } }] })), 'Signal:9');
  assert.equal(podStatus(pod({ phase: 'Pending', initContainerStatuses: [{ state: { running: {} } }, { state: { waiting: {} } }] })), 'Init:0/2');
  assert.equal(podStatus(pod({ phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] })), 'Init:CrashLoopBackOff');
  assert.equal(podStatus(pod({ phase: 'Running' }, { deletionTimestamp: ago(1) })), 'Terminating');
  assert.equal(podStatus({ metadata: {}, spec: {} }), 'Unknown');
});

test('ready and restarts', () => {
  const p = pod({ containerStatuses: [
    { ready: true, restartCount: 2, lastState: { terminated: { finishedAt: ago(300) } } },
    { ready: false, restartCount: 1 },
  ] });
  assert.equal(ready(p), '1/2');
  assert.equal(restarts(p, now), '3 (5m ago)');
  assert.equal(restarts(pod({}), now), '0');
});

test('status colours', () => {
  assert.equal(statusClass('Running'), 'ok');
  assert.equal(statusClass('Pending'), 'warn');
  assert.equal(statusClass('Init:0/2'), 'warn');
  assert.equal(statusClass('CrashLoopBackOff'), 'bad');
});

test('watch events update the pod map', () => {
  const m = new Map();
  assert.ok(applyWatchEvent(m, { type: 'ADDED', object: { metadata: { name: 'a' } } }));
  assert.ok(applyWatchEvent(m, { type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '2' } } }));
  assert.equal(m.get('a').metadata.resourceVersion, '2');
  assert.ok(!applyWatchEvent(m, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } }));
  assert.ok(applyWatchEvent(m, { type: 'DELETED', object: { metadata: { name: 'a' } } }));
  assert.equal(m.size, 0);
  assert.ok(!applyWatchEvent(m, { type: 'ADDED' }));
});

test('line splitting keeps the unfinished tail', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('a\nb'), ['a']);
  assert.deepEqual(s.push('c\n\nd'), ['bc', '']);
  assert.deepEqual(s.flush(), ['d']);
  assert.deepEqual(s.flush(), []);
});
