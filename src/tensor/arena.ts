// Activation arena: inside `reuse(fn)`, op outputs, saved activations and gradient buffers come from
// size-bucketed free lists and all go back when `fn` returns. A training step then allocates nothing
// in the steady state: fresh multi-MB ArrayBuffers cost page faults and zeroing that, measured here,
// halve the speed of the GEMM that first writes them (bench/README.md).
// Tensors created inside `reuse` must not escape it: read the numbers you need before it returns.

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

class Arena {
  private free = new Map<number, Float32Array[]>();
  /** Scope in which each bucket size was last asked for. */
  private lastUsed = new Map<number, number>();
  private scope = 0;
  private taken: Float32Array[] | null = null;

  /** A buffer of n floats with unspecified contents (every element must be written). */
  alloc(n: number): Float32Array {
    if (!this.taken || n === 0) return new Float32Array(n);
    const size = this.fit(bucket(n));
    this.lastUsed.set(size, this.scope);
    const buf = this.free.get(size)?.pop() ?? new Float32Array(size);
    this.taken.push(buf);
    return buf.subarray(0, n);
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
    this.taken = [];
    try {
      return fn();
    } finally {
      for (const buf of this.taken) {
        const list = this.free.get(buf.length);
        if (list) list.push(buf);
        else this.free.set(buf.length, [buf]);
      }
      let working = 0;
      for (const buf of this.taken) working += buf.byteLength;
      this.taken = null;
      this.evict(Math.max(KEEP_FACTOR * working, FLOOR_BYTES));
    }
  }

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
