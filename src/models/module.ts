// Base of every model: a flat ParamStore with Tensor handles per parameter, train/eval mode, and
// the dropout seed stream. Seeds come from a counter-based hash of (seed, counter), so saving the
// counter with a checkpoint reproduces every later dropout mask on resume.
import { ParamStore, type ParamSpec } from '../tensor/param_store.js';
import { Tensor } from '../tensor/tensor.js';

/** Reference distiller.py rule: no weight decay where the name contains "bias" or "LayerNorm.weight". */
export const isNoDecay = (name: string): boolean => name.includes('bias') || name.includes('LayerNorm.weight');

export function linearSpecs(name: string, out: number, inp: number, std: number): ParamSpec[] {
  return [
    { name: `${name}.weight`, shape: [out, inp], init: { kind: 'normal', std } },
    { name: `${name}.bias`, shape: [out], init: { kind: 'const', value: 0 }, noDecay: true },
  ];
}

export function layerNormSpecs(name: string, dim: number): ParamSpec[] {
  return [
    { name: `${name}.weight`, shape: [dim], init: { kind: 'const', value: 1 }, noDecay: isNoDecay(`${name}.weight`) },
    { name: `${name}.bias`, shape: [dim], init: { kind: 'const', value: 0 }, noDecay: true },
  ];
}

export function embeddingSpec(name: string, rows: number, dim: number, std: number): ParamSpec {
  return { name: `${name}.weight`, shape: [rows, dim], init: { kind: 'normal', std } };
}

function mix32(seed: number, counter: number): number {
  let z = (seed ^ Math.imul(counter + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Module {
  readonly params: ParamStore;
  training = false;
  /** Dropout seed stream state; part of a training checkpoint. */
  dropoutSeed = 0;
  dropoutCounter = 0;
  private handles = new Map<string, Tensor>();

  constructor(specs: ParamSpec[]) {
    this.params = new ParamStore(specs);
  }

  /** The parameter `name` as a Tensor (data and gradient are views into the flat buffers). */
  p(name: string): Tensor {
    let t = this.handles.get(name);
    if (!t) {
      const e = this.params.entry(name);
      const grad = this.params.grad !== null;
      t = new Tensor(this.params.view(name), e.shape, grad, name);
      if (grad) t.grad = this.params.gradView(name);
      const store = this.params;
      t.version = () => store.version;
      this.handles.set(name, t);
    }
    return t;
  }

  /** Allocate the flat gradient buffer; parameters then record ops on the tape. */
  enableGrad(): Float32Array {
    const g = this.params.enableGrad();
    this.handles.clear();
    return g;
  }

  train(on = true): this {
    this.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** A fresh dropout seed for the next dropout site. */
  nextSeed(): number {
    return mix32(this.dropoutSeed, this.dropoutCounter++);
  }

  numParameters(): number {
    return this.params.size;
  }
}
