// Fuzzing the native addon's argument checks from JS: every kernel is called with a valid argument
// list for small random sizes, then 1-3 edits: a wrong type, a buffer one element off, a negative,
// fractional, NaN, huge or overflowing dimension (with buffers sized to match when that is small),
// ids and targets outside their range, missing or extra arguments. Each call must return or throw
// a JS Error naming the kernel; a crash or an abort ends the worker and is reported by the driver.
import { native } from '../../../src/tensor/native.js';
import type { Rng } from '../../../src/data/rng.js';
import { pick } from './mutate.js';
import type { FuzzTarget } from './targets.js';

type Dims = Record<string, number>;
type Len = (d: Dims) => number;

type Arg =
  | { k: 'f32' | 'u8'; len: Len; opt?: boolean }
  | { k: 'i32'; len: Len; opt?: boolean; value: (d: Dims, rng: Rng) => number }
  | { k: 'dim'; name: string }
  | { k: 'num'; value: (rng: Rng) => number }
  | { k: 'bool' };

interface Kernel {
  name: keyof typeof native;
  dims: string[];
  args: Arg[];
}

const f32 = (len: Len, opt = false): Arg => ({ k: 'f32', len, opt });
const dim = (name: string): Arg => ({ k: 'dim', name });
const num = (value: (rng: Rng) => number): Arg => ({ k: 'num', value });
const BOOL: Arg = { k: 'bool' };
const prob = num((r) => pick(r, [0, 0.1, 0.5]));
const seed = num((r) => r.int(2 ** 32));
const any = num((r) => r.next() * 4 - 2);
const n: Len = (d) => d.n!;
const NC: Len = (d) => d.N! * d.C!;
const NV: Len = (d) => d.N! * d.V!;
const rows: Len = (d) => d.N!;
const cols: Len = (d) => d.C!;
/** A valid id below the vocabulary size `v`, or any small one when `v` was edited into a bad dimension (Rng.int needs 1 <= n <= 2^32). */
const below = (r: Rng, v: number): number => (Number.isInteger(v) && v >= 1 && v <= 2 ** 32 ? r.int(v) : r.int(8));
const ids = (opt = false): Arg => ({ k: 'i32', len: rows, opt, value: (d, r) => below(r, d.V!) });
const targets: Arg = { k: 'i32', len: rows, value: (d, r) => (r.next() < 0.2 ? -100 : below(r, d.V!)) };
const BTC: Len = (d) => d.B! * d.T! * d.H! * d.D!;
const probs: Len = (d) => d.B! * d.H! * d.T! * d.T!;
const unary = (name: keyof typeof native): Kernel => ({ name, dims: ['n'], args: [f32(n), f32(n), dim('n')] });
const unaryBack = (name: keyof typeof native): Kernel => ({ name, dims: ['n'], args: [f32(n), f32(n), f32(n), dim('n')] });

const KERNELS: Kernel[] = [
  { name: 'matmul', dims: ['batch', 'M', 'N', 'K'], args: [f32((d) => d.batch! * d.M! * d.N!), f32((d) => d.batch! * d.M! * d.K!),
    f32((d) => d.batch! * d.K! * d.N!), f32((d) => d.N!, true), dim('batch'), dim('M'), dim('N'), dim('K'), BOOL, BOOL, BOOL, BOOL] },
  { name: 'biasGrad', dims: ['M', 'N'], args: [f32((d) => d.N!), f32((d) => d.M! * d.N!), dim('M'), dim('N')] },
  { name: 'linearPacked', dims: ['M', 'N', 'K'], args: [f32((d) => d.M! * d.N!), f32((d) => d.M! * d.K!), f32((d) => d.N! * d.K!),
    f32((d) => d.N!, true), dim('M'), dim('N'), dim('K'), num((r) => r.int(5)), num((r) => r.int(3)), BOOL] },
  { name: 'attentionForward', dims: ['B', 'T', 'H', 'D'], args: [f32(BTC), f32(probs, true), f32(BTC), f32(BTC), f32(BTC),
    { k: 'i32', len: (d) => d.B! * d.T!, opt: true, value: (_d, r) => r.int(2) }, dim('B'), dim('T'), dim('H'), dim('D'), prob, seed] },
  { name: 'attentionBackward', dims: ['B', 'T', 'H', 'D'], args: [f32(BTC), f32(BTC), f32(BTC), f32(BTC), f32(probs, true), f32(BTC), f32(BTC),
    f32(BTC), { k: 'i32', len: (d) => d.B! * d.T!, opt: true, value: (_d, r) => r.int(2) }, dim('B'), dim('T'), dim('H'), dim('D'), prob, seed] },
  { name: 'layernormForward', dims: ['N', 'C'], args: [f32(NC), f32(rows), f32(rows), f32(NC), f32(cols), f32(cols), dim('N'), dim('C'),
    num(() => 1e-12)] },
  { name: 'addLayernormForward', dims: ['N', 'C'], args: [f32(NC), f32(NC, true), f32(rows), f32(rows), f32(NC), f32(NC), f32(cols),
    f32(cols), dim('N'), dim('C'), num(() => 1e-5)] },
  { name: 'layernormBackward', dims: ['N', 'C'], args: [f32(NC), f32(cols, true), f32(cols, true), f32(NC), f32(NC), f32(rows), f32(rows),
    f32(cols), dim('N'), dim('C')] },
  unary('geluForward'), unaryBack('geluBackward'), unary('tanhForward'), unaryBack('tanhBackward'), unary('reluForward'),
  unaryBack('reluBackward'),
  { name: 'dropoutForward', dims: ['n'], args: [f32(n), f32(n), dim('n'), prob, seed] },
  { name: 'dropoutBackward', dims: ['n'], args: [f32(n), f32(n), dim('n'), prob, seed] },
  { name: 'embeddingForward', dims: ['N', 'C', 'V'], args: [f32(NC), ids(), f32((d) => d.V! * d.C!), dim('N'), dim('C'), dim('V')] },
  { name: 'embeddingBackward', dims: ['N', 'C', 'V'], args: [f32((d) => d.V! * d.C!), f32(NC), ids(), dim('N'), dim('C'), dim('V'),
    num((r) => r.int(3))] },
  { name: 'add', dims: ['n'], args: [f32(n), f32(n), f32(n), dim('n')] },
  { name: 'addInto', dims: ['n'], args: [f32(n), f32(n), dim('n'), any] },
  { name: 'crossEntropyForward', dims: ['N', 'V'], args: [f32(NV), targets, dim('N'), dim('V'), num(() => -100)] },
  { name: 'crossEntropyBackward', dims: ['N', 'V'], args: [f32(NV), f32(NV), targets, dim('N'), dim('V'), num(() => -100), any] },
  { name: 'klDivForward', dims: ['N', 'V'], args: [f32(NV), f32(NV), dim('N'), dim('V'), num(() => 2)] },
  { name: 'klDivBackward', dims: ['N', 'V'], args: [f32(NV), f32(NV), f32(NV), dim('N'), dim('V'), num(() => 2), any] },
  { name: 'cosineEmbeddingForward', dims: ['N', 'C'], args: [f32(NC), f32(NC), dim('N'), dim('C')] },
  { name: 'cosineEmbeddingBackward', dims: ['N', 'C'], args: [f32(NC, true), f32(NC, true), f32(NC), f32(NC), dim('N'), dim('C'), any] },
  { name: 'mseForward', dims: ['n'], args: [f32(n), f32(n), dim('n')] },
  { name: 'mseBackward', dims: ['n'], args: [f32(n, true), f32(n, true), f32(n), f32(n), dim('n'), any] },
  { name: 'gradNorm', dims: ['n'], args: [f32(n), dim('n')] },
  { name: 'adamwStep', dims: ['n'], args: [f32(n), f32(n), f32(n), f32(n), { k: 'u8', len: n, opt: true }, dim('n'), num(() => 1e-3),
    num(() => 0.9), num(() => 0.999), num(() => 1e-8), num(() => 0.01), num((r) => 1 + r.int(100)), num(() => 1)] },
  { name: 'setThreads', dims: [], args: [num((r) => 1 + r.int(2))] },
];

/** Dimensions that overflow products, sit on sign and size boundaries, or are not integers at all. */
const BAD_DIMS = [0, -1, 0.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 40 + 1, 2 ** 53, 1e300, 2 ** 21, 2 ** 22];
const BAD_VALUES: Array<(len: number) => unknown> = [
  () => undefined, () => null, () => 0, () => -1, () => NaN, () => Infinity, () => 1e300, () => '3', () => true, () => ({}), () => [1, 2],
  () => 1n, () => Symbol('x'), () => () => 0, (len) => new Float64Array(len), (len) => new Int32Array(len), (len) => new Uint8Array(len),
  (len) => new Float32Array(len + 1), (len) => new Float32Array(Math.max(0, len - 1)), () => new Float32Array(0),
  (len) => new Float32Array(new SharedArrayBuffer(4 * len)), (len) => new Float32Array(len).subarray(1),
];
/** Largest buffer (elements) built for a resized dimension; beyond it the buffers stay as they were. */
const MAX_BUFFER = 1 << 20;

function build(k: Kernel, d: Dims, rng: Rng, nanRate: number): unknown[] {
  return k.args.map((a) => {
    switch (a.k) {
      case 'f32': {
        if (a.opt && rng.next() < 0.3) return null;
        const len = a.len(d);
        if (!(len >= 0 && len <= MAX_BUFFER)) return new Float32Array(0);
        return Float32Array.from({ length: len }, () => (rng.next() < nanRate ? pick(rng, [NaN, Infinity, -Infinity]) : rng.next() * 2 - 1));
      }
      case 'u8': {
        if (a.opt && rng.next() < 0.3) return null;
        const len = a.len(d);
        return len >= 0 && len <= MAX_BUFFER ? Uint8Array.from({ length: len }, () => rng.int(2)) : new Uint8Array(0);
      }
      case 'i32': {
        if (a.opt && rng.next() < 0.3) return null;
        const len = a.len(d);
        return len >= 0 && len <= MAX_BUFFER ? Int32Array.from({ length: len }, () => a.value(d, rng)) : new Int32Array(0);
      }
      case 'dim':
        return d[a.name];
      case 'num':
        return a.value(rng);
      case 'bool':
        return rng.next() < 0.5;
    }
  });
}

export const nativeTarget: FuzzTarget = {
  name: 'native addon arguments',
  setup() {},
  make(rng) {
    const k = pick(rng, KERNELS);
    const d: Dims = Object.fromEntries(k.dims.map((name) => [name, 1 + rng.int(4)]));
    const edits = rng.next() < 0.1 ? 0 : 1 + rng.int(3);
    let args = build(k, d, rng, rng.next() < 0.1 ? 0.2 : 0);
    for (let e = 0; e < edits; e++) {
      const r = rng.next();
      if (r < 0.3 && k.dims.length > 0) {
        // Bad dimensions; buffers are rebuilt to the new sizes when those are small, so the checks
        // on the dimensions themselves (not just the length mismatch) are what stands in the way.
        if (rng.next() < 0.3) for (const name of k.dims) d[name] = pick(rng, BAD_DIMS);
        else d[pick(rng, k.dims)] = pick(rng, BAD_DIMS);
        if (rng.next() < 0.3) d[pick(rng, k.dims)] = 0;
        args = build(k, d, rng, 0);
      } else if (r < 0.6 && args.length > 0) {
        const i = rng.int(args.length);
        const len = args[i] instanceof Float32Array ? (args[i] as Float32Array).length : 4;
        args[i] = pick(rng, BAD_VALUES)(len);
      } else if (r < 0.75) {
        const ints = args.filter((a): a is Int32Array => a instanceof Int32Array);
        if (ints.length > 0) {
          const a = pick(rng, ints);
          if (a.length > 0) a[rng.int(a.length)] = pick(rng, [-1, -100, -101, 2 ** 31 - 1, -(2 ** 31), 4, 5, 99]);
        }
      } else if (r < 0.9) args = args.slice(0, rng.int(args.length + 1));
      else args = [...args, ...Array.from({ length: 1 + rng.int(3) }, () => pick(rng, BAD_VALUES)(4))];
    }
    const fn = native[k.name] as unknown as (...a: unknown[]) => unknown;
    return {
      expect: `${k.name}: `,
      run: () => {
        try {
          return fn(...args);
        } finally {
          // Packed weights are cached by buffer and version; random buffers would only fill the cache.
          if (k.name === 'linearPacked') native.clearPacked();
        }
      },
    };
  },
};
