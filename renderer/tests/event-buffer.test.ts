import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobEvent } from '../../common/api';
import { JobEventBuffer } from '../src/lib/state/event-buffer';

const queued = (jobId: string): JobEvent => ({ type: 'queued', jobId, kind: 'ask', position: 0 });
const token = (jobId: string, text: string): JobEvent => ({ type: 'token', jobId, text });

test('events that arrive before their job is known are handed over in order, once', () => {
  const b = new JobEventBuffer();
  b.hold(queued('a'));
  b.hold(queued('b'));
  b.hold(token('a', 'x'));
  b.hold(token('a', 'y'));
  assert.equal(b.size, 4);
  assert.deepEqual(b.take('a'), [queued('a'), token('a', 'x'), token('a', 'y')]);
  assert.deepEqual(b.take('a'), []);
  assert.equal(b.size, 1);
  assert.deepEqual(b.take('missing'), []);
});

test('past the limit the oldest jobs are dropped first, never the newest', () => {
  const b = new JobEventBuffer(3);
  b.hold(queued('old'));
  b.hold(token('old', '1'));
  b.hold(queued('mid'));
  b.hold(queued('new'));
  assert.ok(b.size <= 3);
  assert.deepEqual(b.take('old'), []);
  assert.deepEqual(b.take('new'), [queued('new')]);
  assert.deepEqual(b.take('mid'), [queued('mid')]);
  assert.equal(b.size, 0);
});
