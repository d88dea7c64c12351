// The seeded shuffle of a prepared dataset (order.bin). The reference binarized_data.py shuffles
// with Python's `random.shuffle` unseeded; we make it a documented function of --seed so that the
// same corpus and seed give byte-identical files, reproducible from this description alone:
//
//   PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit words a, b, c, d):
//     step: t = a + b + d; d = d + 1; a = b ^ (b >>> 9); b = c + (c << 3);
//           c = rotl(c, 21) + t; output t          (all arithmetic mod 2^32)
//     seed: a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed, then 12 outputs discarded.
//   uniform(n), 1 <= n <= 2^32: draw r until r < 2^32 - (2^32 mod n), return r mod n (rejection,
//     so there is no modulo bias).
//   shuffle (Durstenfeld's Fisher-Yates): p = [0, 1, ..., N-1];
//     for i = N-1 down to 1: j = uniform(i + 1); swap p[i], p[j].

/** Sequences beyond this cannot be numbered in order.bin's uint32 entries. */
export const MAX_SEQUENCES = 0xffffffff;

export class Sfc32 {
  private a = 0x9e3779b9;
  private b = 0x243f6a88;
  private c = 0xb7e15162;
  private d: number;

  constructor(seed: number) {
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, n), 1 <= n <= 2^32, without modulo bias. */
  uniform(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let r: number;
    do r = this.u32();
    while (r >= limit);
    return r % n;
  }
}

/** The permutation written to order.bin: Fisher-Yates over 0..n-1 driven by sfc32(seed). 4 bytes a sequence. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SEQUENCES) {
    throw new Error(`cannot shuffle ${n} sequences: order.bin numbers sequences with uint32, at most ${MAX_SEQUENCES}`);
  }
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Sfc32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.uniform(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
