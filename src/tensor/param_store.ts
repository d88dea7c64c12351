// Parameters of a model in one flat Float32Array with named views (llm.c `ParameterTensors`).
// Gradients and AdamW moments share the layout, so the optimizer is one fused loop over the buffer
// and a checkpoint is one write. View names are the Hugging Face checkpoint keys.
import { newFloats } from './arena.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Initial value: normal(0, std), a constant, or left for a loader to fill. */
  init: { kind: 'normal'; std: number } | { kind: 'const'; value: number };
  /** Excluded from weight decay (biases and LayerNorm weights, as in the reference distiller). */
  noDecay?: boolean;
}

export interface ParamEntry extends ParamSpec {
  offset: number;
  size: number;
}

/** Versions are unique across stores: a buffer freed and reallocated at the same address never
 * matches a stale cached copy. */
let versionCounter = 0;
const nextVersion = (): number => ++versionCounter;

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export class ParamStore {
  readonly entries: ParamEntry[] = [];
  private readonly byName = new Map<string, ParamEntry>();
  readonly size: number;
  /** All parameters, contiguous, in declaration order. */
  readonly data: Float32Array;
  /** Gradient buffer with the same layout; allocated lazily by `enableGrad`. */
  grad: Float32Array | null = null;
  /**
   * Bumped by everything that writes parameter values through this class, the optimizer and the
   * loaders; inference caches of repacked weights are keyed by it. Call `touch()` after writing
   * into `data` or a `view` directly.
   */
  version = nextVersion();

  touch(): void {
    this.version = nextVersion();
  }

  constructor(specs: ParamSpec[]) {
    let offset = 0;
    for (const s of specs) {
      if (this.byName.has(s.name)) throw new Error(`duplicate parameter name ${s.name}`);
      const e: ParamEntry = { ...s, shape: [...s.shape], offset, size: numel(s.shape) };
      this.entries.push(e);
      this.byName.set(s.name, e);
      offset += e.size;
    }
    this.size = offset;
    this.data = newFloats(offset);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`no parameter named ${name}`);
    return e;
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  shape(name: string): number[] {
    return this.entry(name).shape;
  }

  /** Zero-copy view of one parameter inside the flat buffer. */
  view(name: string): Float32Array {
    const e = this.entry(name);
    return this.data.subarray(e.offset, e.offset + e.size);
  }

  gradView(name: string): Float32Array {
    if (!this.grad) throw new Error('gradients are not enabled on this model (call enableGrad)');
    const e = this.entry(name);
    return this.grad.subarray(e.offset, e.offset + e.size);
  }

  enableGrad(): Float32Array {
    if (!this.grad) this.grad = newFloats(this.size);
    return this.grad;
  }

  zeroGrad(): void {
    this.grad?.fill(0);
  }

  /** Fill every parameter from its init spec with a seeded Gaussian (Box-Muller over mulberry32). */
  initialize(seed: number): void {
    this.touch();
    let s = seed >>> 0;
    const uniform = (): number => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (const e of this.entries) {
      const v = this.data.subarray(e.offset, e.offset + e.size);
      if (e.init.kind === 'const') {
        v.fill(e.init.value);
        continue;
      }
      const std = e.init.std;
      for (let i = 0; i < v.length; i += 2) {
        const u1 = Math.max(uniform(), 1e-12);
        const u2 = uniform();
        const r = Math.sqrt(-2 * Math.log(u1)) * std;
        v[i] = r * Math.cos(2 * Math.PI * u2);
        if (i + 1 < v.length) v[i + 1] = r * Math.sin(2 * Math.PI * u2);
      }
    }
  }

  /**
   * The first parameter (in store order) whose values (`data`) or gradient (`grad`) hold a NaN or
   * an infinity, with the element index and value; null when all are finite. For error messages
   * that must say where a divergence started.
   */
  firstNonFinite(which: 'data' | 'grad'): { name: string; index: number; value: number } | null {
    const buf = which === 'data' ? this.data : this.grad;
    if (!buf) return null;
    for (const e of this.entries)
      for (let i = 0; i < e.size; i++) {
        const v = buf[e.offset + i]!;
        if (!Number.isFinite(v)) return { name: e.name, index: i, value: v };
      }
    return null;
  }

  /** Mask with 1 where weight decay applies, 0 elsewhere, in the flat layout. */
  decayMask(): Uint8Array {
    const m = new Uint8Array(this.size);
    for (const e of this.entries) if (!e.noDecay) m.fill(1, e.offset, e.offset + e.size);
    return m;
  }
}
