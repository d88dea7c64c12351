// A tiny tape-based autograd (micrograd / tinygrad style) over Float32Array tensors.
// Each op runs its native forward kernel and, when gradients are on and an input needs one, pushes
// a closure that runs the backward kernel. `backward(loss)` walks the tape in reverse; gradient
// buffers are allocated on first use and kernels accumulate into them (+=). Once an op's backward
// has run, every consumer of its output has run before it, so the output's gradient is spent: the
// tape hands it back to the arena, and only leaf tensors (parameters, inputs) keep a gradient after
// backward(), as in PyTorch.
import { arena } from './arena.js';
import { numel } from './param_store.js';

export class Tensor {
  /** Gradient with the layout of `data`; parameters get a view into the flat gradient buffer. */
  grad: Float32Array | null = null;
  /**
   * For parameters: the version of the values (bumped whenever the model's parameters change), which
   * lets inference kernels cache repacked copies of the weights (native/linear_packed.cc).
   */
  version: (() => number) | null = null;

  constructor(
    readonly data: Float32Array,
    readonly shape: number[],
    readonly requiresGrad = false,
    /** Name for error messages (parameters carry their checkpoint key). */
    readonly name = '',
  ) {
    if (data.length !== numel(shape))
      throw new Error(`tensor ${name || ''} has ${data.length} elements but shape [${shape}] needs ${numel(shape)}`);
  }

  get size(): number {
    return this.data.length;
  }

  /** The gradient buffer, allocated zeroed on first use. */
  gradBuf(): Float32Array {
    if (!this.grad) this.grad = arena.zeros(this.data.length);
    return this.grad;
  }

  /** Same data, new shape (no copy); gradients flow to the same buffer. */
  view(shape: number[]): Tensor {
    const t = new Tensor(this.data, shape, this.requiresGrad, this.name);
    if (this.requiresGrad) {
      // Share the gradient buffer so a reshaped use accumulates into the original.
      t.grad = this.gradBuf();
    }
    return t;
  }

  item(): number {
    if (this.data.length !== 1) throw new Error(`item() needs a 1-element tensor, got shape [${this.shape}]`);
    return this.data[0]!;
  }

  static zeros(shape: number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(numel(shape)), shape, requiresGrad);
  }
}

interface Node {
  output: Tensor;
  backward: () => void;
}

class Tape {
  private nodes: Node[] = [];
  private gradDepth = 0;

  /** True when ops should record their backward (not inside `noGrad`). */
  get enabled(): boolean {
    return this.gradDepth === 0;
  }

  /**
   * Record the backward of the op that made `output` (when it requires grad). After it runs, the
   * tape releases output.grad; a backward that hands the buffer on to an input sets output.grad to
   * null first.
   */
  record(output: Tensor, backward: () => void): boolean {
    if (this.gradDepth > 0 || !output.requiresGrad) return false;
    this.nodes.push({ output, backward });
    return true;
  }

  noGrad<T>(fn: () => T): T {
    this.gradDepth++;
    try {
      return fn();
    } finally {
      this.gradDepth--;
    }
  }

  backward(loss: Tensor): void {
    if (loss.size !== 1) throw new Error(`backward() needs a scalar loss, got shape [${loss.shape}]`);
    if (!loss.requiresGrad) throw new Error('backward(): the loss does not depend on any tensor that requires grad');
    loss.gradBuf()[0] = 1;
    const nodes = this.nodes;
    this.nodes = [];
    for (let i = nodes.length - 1; i >= 0; i--) {
      const { output, backward } = nodes[i]!;
      backward();
      arena.release(output.grad);
      output.grad = null;
    }
  }

  /** Drop recorded ops without running them (e.g. after an evaluation pass with grads on). */
  clear(): void {
    this.nodes = [];
  }

  get length(): number {
    return this.nodes.length;
  }
}

export const tape = new Tape();

export const noGrad = <T>(fn: () => T): T => tape.noGrad(fn);

export function backward(loss: Tensor): void {
  tape.backward(loss);
}

/** Output tensor of an op: requires grad when any input does and the tape is recording. */
export function result(data: Float32Array, shape: number[], inputs: Tensor[]): Tensor {
  return new Tensor(data, shape, tape.enabled && inputs.some((t) => t.requiresGrad));
}
