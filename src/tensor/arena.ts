// Activation arena: inside `reuse(fn)`, op outputs, saved activations and gradient buffers come from
// size-bucketed free lists and all go back when `fn` returns. A training step then allocates nothing
// in the steady state: fresh multi-MB ArrayBuffers cost page faults and zeroing that, measured here,
// halve the speed of the GEMM that first writes them (bench/README.md).
// Tensors created inside `reuse` must not escape it: read the numbers you need before it returns.
// Inside a scope, `release` hands a buffer back early (a gradient once its producer's backward has
// run, a temporary once read), so later allocations of the same step reuse it: the peak is what is
// alive at once, not everything the step ever touched. Buffers of BIG_FLOATS and more ask for
// huge pages (native/alloc.cc), where first touches cost a fraction of 4 KiB page faults.
import { native } from './native.js';

/** Buckets grow in steps of 1/8 of the power of two below the size, so reuse wastes < 12.5%. */
function bucket(n: number): number {
  if (n <= 64) return 64;
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

/**
 * The free lists may hold this many times the last scope's working set (and at least FLOOR_BYTES);
 * beyond it the least recently used sizes are dropped.
 */
const KEEP_FACTOR = 2;
const FLOOR_BYTES = 256 * 2 ** 20;
/** 1 MiB: smaller buffers come from V8's allocator, which pools them itself. */
const BIG_FLOATS = 1 << 18;

/** n zero-filled floats; big ones on huge pages (also used for parameters, gradients, AdamW moments). */
export function newFloats(n: number): Float32Array {
  const a = new Float32Array(n);
  if (n >= BIG_FLOATS) native.adviseHugePages(a);
  return a;
}

class Arena {
  private free = new Map<number, Float32Array[]>();
  /** Scope in which each bucket size was last asked for. */
  private lastUsed = new Map<number, number>();
  private scope = 0;
  /** Buffers handed out in the current scope, by their memory (a subarray shares its ArrayBuffer). */
  private taken: Map<ArrayBufferLike, Float32Array> | null = null;
  /** Bytes handed out and not yet back, and their high-water mark in the current scope. */
  private live = 0;
  private peak = 0;

  /** A buffer of n floats with unspecified contents (every element must be written). */
  alloc(n: number): Float32Array {
    if (!this.taken || n === 0) return new Float32Array(n);
    const size = this.fit(bucket(n));
    this.lastUsed.set(size, this.scope);
    const buf = this.free.get(size)?.pop() ?? newFloats(size);
    this.taken.set(buf.buffer, buf);
    this.live += buf.byteLength;
    this.peak = Math.max(this.peak, this.live);
    return buf.subarray(0, n);
  }

  /**
   * Hand `arr` (from alloc or zeros in this scope) back before the scope ends: its memory may be
   * returned by the next alloc, so the caller must not read or write it again. Anything else
   * (parameters, buffers from outside a scope, a buffer already released) is left alone.
   */
  release(arr: Float32Array | null): void {
    const buf = arr && this.taken?.get(arr.buffer);
    if (!buf) return;
    this.taken!.delete(arr.buffer);
    this.live -= buf.byteLength;
    const list = this.free.get(buf.length);
    if (list) list.push(buf);
    else this.free.set(buf.length, [buf]);
  }

  /**
   * The bucket to take a buffer of `size` floats from: `size` itself when one is free, else the
   * smallest free bucket up to twice as large. With dynamic padding every batch has another
   * length, so exact sizes rarely repeat; without this each step would map fresh memory (page
   * faults in the kernel cost more than the arithmetic at small widths).
   */
  private fit(size: number): number {
    if (this.free.get(size)?.length) return size;
    let best = size;
    for (const [k, list] of this.free) if (list.length > 0 && k > size && k <= 2 * size && (best === size || k < best)) best = k;
    return best;
  }

  /** A zero-filled buffer of n floats (for gradients, which kernels accumulate into). */
  zeros(n: number): Float32Array {
    if (!this.taken) return new Float32Array(n);
    return this.alloc(n).fill(0);
  }

  /**
   * Run fn with arena allocation; every buffer it took is recycled afterwards. Nested calls join the
   * outer one. With varying shapes (dynamic padding) each length needs other sizes: past a budget of
   * KEEP_FACTOR working sets the least recently used sizes are released, so the arena does not keep
   * one working set per length ever seen.
   */
  reuse<T>(fn: () => T): T {
    if (this.taken) return fn();
    this.scope++;
    this.taken = new Map();
    this.live = 0;
    this.peak = 0;
    try {
      return fn();
    } finally {
      for (const buf of this.taken.values()) {
        const list = this.free.get(buf.length);
        if (list) list.push(buf);
        else this.free.set(buf.length, [buf]);
      }
      this.taken = null;
      this.lastPeak = this.peak;
      this.evict(Math.max(KEEP_FACTOR * this.peak, FLOOR_BYTES));
    }
  }

  /** Most bytes alive at once in the last finished scope (its working set). */
  lastPeak = 0;

  /** Drop least recently used sizes until the free lists hold at most `budget` bytes. */
  private evict(budget: number): void {
    let held = this.cachedBytes();
    if (held <= budget) return;
    const byAge = [...this.lastUsed].sort((a, b) => a[1] - b[1]);
    for (const [size, used] of byAge) {
      if (held <= budget || used === this.scope) break;
      held -= size * 4 * (this.free.get(size)?.length ?? 0);
      this.free.delete(size);
      this.lastUsed.delete(size);
    }
  }

  /** Drop every cached buffer (e.g. after the last step). */
  clear(): void {
    this.free.clear();
    this.lastUsed.clear();
  }

  /** Bytes held in free lists. */
  cachedBytes(): number {
    let n = 0;
    for (const [size, list] of this.free) n += size * 4 * list.length;
    return n;
  }
}

export const arena = new Arena();
