// Seeded randomness for training. Every draw is derived from (seed, stream, counter) by a hash, so
// nothing needs saving for an exact resume: the batch at micro-step k always gets the same masks
// and dropout whatever ran before it.

/** 32-bit mix (murmur3 finalizer) of a and b. */
export function hash2(a: number, b: number): number {
  let h = (Math.imul(a >>> 0, 0x9e3779b1) ^ (b >>> 0)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Seed for stream `stream` (a small constant per use) at position `k` of a run seeded with `seed`. */
export const deriveSeed = (seed: number, stream: number, k: number): number => hash2(hash2(seed, stream), k);

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded as a = 0x9e3779b9,
 * b = 0x243f6a88, c = 0xb7e15162, d = seed, then 12 outputs discarded. It also drives the shuffle
 * written to a prepared dataset's order.bin (src/data/shuffle.ts), whose format pins this sequence.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n), 1 <= n <= 2^32, by rejection (no modulo bias). */
  int(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let r: number;
    do r = this.u32();
    while (r >= limit);
    return r % n;
  }

  /** Durstenfeld's Fisher-Yates permutation of 0..n-1 (n < 2^32). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
