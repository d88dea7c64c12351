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

import { Rng } from './rng.js';

/** Sequences beyond this cannot be numbered in order.bin's uint32 entries. */
export const MAX_SEQUENCES = 0xffffffff;

/** The permutation written to order.bin: Fisher-Yates over 0..n-1 driven by sfc32(seed). 4 bytes a sequence. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SEQUENCES) {
    throw new Error(`cannot shuffle ${n} sequences: order.bin numbers sequences with uint32, at most ${MAX_SEQUENCES}`);
  }
  return new Rng(seed).permutation(n);
}
