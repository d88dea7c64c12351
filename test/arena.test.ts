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
  // Small sizes stay cached across other shapes (inference at many lengths) ...
  arena.reuse(() => arena.alloc(50_000));
  assert.equal(arena.reuse(() => arena.alloc(10_000).buffer), first);
  // ... until the cache passes its budget (2 working sets, at least 256 MiB): then the least
  // recently used sizes go first.
  const big = 24 * 2 ** 20; // 96, 112 and 128 MiB in three scopes: 336 MiB > the 256 MiB floor
  for (let i = 0; i < 3; i++) arena.reuse(() => arena.alloc(big + i * 2 ** 22));
  assert.ok(arena.cachedBytes() <= 256 * 2 ** 20, `cached ${arena.cachedBytes()} bytes`);
  const fresh = arena.reuse(() => arena.alloc(10_000).buffer);
  assert.notEqual(fresh, first, 'the least recently used size was released');
  // Outside a scope, allocation is plain and zeroed.
  assert.ok(arena.zeros(5).every((v) => v === 0));
  arena.clear();
  assert.equal(arena.cachedBytes(), 0);
});
