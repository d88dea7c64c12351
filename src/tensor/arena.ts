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

/** Free lists of sizes no scope asked for in this many consecutive scopes are dropped. */
const KEEP_SCOPES = 2;

class Arena {
  private free = new Map<number, Float32Array[]>();
  /** Scope in which each bucket size was last asked for. */
  private lastUsed = new Map<number, number>();
  private scope = 0;
  private taken: Float32Array[] | null = null;

  /** A buffer of n floats with unspecified contents (every element must be written). */
  alloc(n: number): Float32Array {
    if (!this.taken || n === 0) return new Float32Array(n);
    const size = bucket(n);
    this.lastUsed.set(size, this.scope);
    const buf = this.free.get(size)?.pop() ?? new Float32Array(size);
    this.taken.push(buf);
    return buf.subarray(0, n);
  }

  /** A zero-filled buffer of n floats (for gradients, which kernels accumulate into). */
  zeros(n: number): Float32Array {
    if (!this.taken) return new Float32Array(n);
    return this.alloc(n).fill(0);
  }

  /**
   * Run fn with arena allocation; every buffer it took is recycled afterwards. Nested calls join the
   * outer one. With varying shapes (dynamic padding) each length needs other sizes: sizes unused for
   * KEEP_SCOPES scopes are released, so the arena holds about two steps' working sets, not one per
   * length ever seen.
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
      this.taken = null;
      for (const [size, used] of this.lastUsed)
        if (used <= this.scope - KEEP_SCOPES) {
          this.free.delete(size);
          this.lastUsed.delete(size);
        }
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
