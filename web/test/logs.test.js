import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logQuery, sinceSeconds, highlight, LineBuffer, downloadName } from '../src/lib/logs.js';

test('log query from the view settings', () => {
  const q = new URLSearchParams(logQuery({ container: 'app', follow: true, tail: '500', since: '5m' }));
  assert.equal(q.get('container'), 'app');
  assert.equal(q.get('follow'), 'true');
  assert.equal(q.get('tailLines'), '500');
  assert.equal(q.get('sinceSeconds'), '300');
  const all = new URLSearchParams(logQuery({ container: 'app', follow: false, tail: '', since: '' }));
  assert.equal(all.get('follow'), null);
  assert.equal(all.get('tailLines'), null);
  assert.equal(all.get('sinceSeconds'), null);
  assert.equal(new URLSearchParams(logQuery({ tail: '-3' })).get('tailLines'), null);
});

test('since in seconds', () => {
  assert.equal(sinceSeconds('30s'), 30);
  assert.equal(sinceSeconds('2h'), 7200);
  assert.equal(sinceSeconds('1d'), 86400);
  assert.equal(sinceSeconds('5 minutes'), 0);
  assert.equal(sinceSeconds(undefined), 0);
});

test('search highlights plain text, case-insensitively', () => {
  assert.deepEqual(highlight('Error: an error', 'error'), [
    { text: 'Error', match: true }, { text: ': an ', match: false }, { text: 'error', match: true },
  ]);
  assert.deepEqual(highlight('a.b', '.'), [{ text: 'a', match: false }, { text: '.', match: true }, { text: 'b', match: false }]);
  assert.deepEqual(highlight('abc', ''), [{ text: 'abc', match: false }]);
  assert.deepEqual(highlight('abc', 'x'), [{ text: 'abc', match: false }]);
});

test('the line buffer drops the oldest lines', () => {
  const b = new LineBuffer(3);
  assert.equal(b.push(['1', '2']), 0);
  assert.equal(b.push(['3', '4', '5']), 2);
  assert.deepEqual(b.lines, ['3', '4', '5']);
  assert.equal(b.dropped, 2);
  assert.equal(b.count('4'), 1);
  assert.equal(b.count(''), 3);
});

test('download names are safe file names', () => {
  assert.equal(downloadName('web-1', 'app', new Date('2026-12-01T10:20:30.123Z')), 'web-1_app_2026-12-01T102030Z.log');
  assert.equal(downloadName('a/b', '', new Date('2026-12-01T10:20:30Z')), 'a_b_2026-12-01T102030Z.log');
});
