// The activation arena: buffers are reused across scopes of the same shapes, and sizes that stop
// being asked for are released (dynamic padding must not keep one working set per length).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arena } from '../src/tensor/arena.js';

test('arena reuses buffers of a repeated shape and releases sizes no longer used', () => {
  arena.clear();
  const first = arena.reuse(() => arena.alloc(10_000).buffer);
  const again = arena.reuse(() => arena.alloc(10_000).buffer);
  assert.equal(again, first, 'the same buffer serves the same size');
  const held = arena.cachedBytes();
  assert.ok(held >= 40_000);
  // Two scopes of other sizes: the 10,000-float bucket is released.
  arena.reuse(() => arena.alloc(50_000));
  arena.reuse(() => arena.alloc(70_000));
  const sizes = arena.cachedBytes();
  assert.ok(sizes < held + 4 * (50_000 + 70_000) + 4 * 20_000, `cached ${sizes} bytes`);
  arena.reuse(() => arena.alloc(10_000).fill(1));
  const fresh = arena.reuse(() => arena.alloc(10_000).buffer);
  assert.notEqual(fresh, first, 'a released size gets a new buffer');
  // Outside a scope, allocation is plain and zeroed.
  assert.ok(arena.zeros(5).every((v) => v === 0));
  arena.clear();
  assert.equal(arena.cachedBytes(), 0);
});
