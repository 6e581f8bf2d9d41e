// Reverse-mode autograd: a tape of nodes in TypeScript over the native kernels.
// An op whose inputs require gradients (with grad mode on) gets a Node holding
// its backward closure; `loss.backward()` walks the nodes in reverse
// topological order, runs each backward once with the summed gradient of its
// outputs, and accumulates (+=) into the `.grad` of leaf tensors (bfloat16
// gradients through add's float32 math, rounded once). Gradients of
// intermediate tensors are disposed as soon as they are consumed; the graph's
// closures are released after backward (unless retainGraph), so a step run
// inside tidy() leaves nothing behind but the parameters' `.grad`.
import { ones } from './creation';
import { rangeError, shapeStr, typeError } from './errors';
import { add } from './ops/elementwise';
import { clone } from './ops/view';
import { keep } from './scope';
import { Tensor } from './tensor';

export type Grads = (Tensor | null | undefined)[];

export interface Node {
  name: string;
  /** The inputs that require gradients (null where one does not). */
  inputs: (Tensor | null)[];
  /** The outputs (one for most ops), in the order the backward receives their gradients. */
  outputs: Tensor[];
  /** Gradients of the outputs (null where none arrived) -> gradients of the inputs. Null once freed. */
  backward: ((grads: (Tensor | null)[]) => Grads) | null;
}

let gradEnabled = true;

// The all-ones gradients backward() seeds one-element roots with (never a
// gradient the user passed): ops may use precomputed gradients for them.
const unitSeeds = new WeakSet<Tensor>();

/** True when `g` is backward()'s own all-ones seed (dL/droot = 1). */
export function isUnitSeed(g: Tensor): boolean {
  return unitSeeds.has(g);
}

/** True when record() would attach a node for these inputs now. */
export function willRecord(inputs: readonly unknown[]): boolean {
  return gradEnabled && inputs.some((t) => t instanceof Tensor && t.requiresGrad);
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (no graph is built). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with gradient recording on (inside a noGrad, say). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Attaches a backward node to `out` (one tensor or several) when grad mode is
 * on and any of `inputs` requires gradients; returns `out`. `backward` gets the
 * output gradients (null where an output got none) and returns one gradient
 * (or null) per input, each of that input's shape.
 */
export function record<T extends Tensor | Tensor[]>(name: string, out: T, inputs: readonly unknown[], backward: (grads: (Tensor | null)[]) => Grads): T {
  if (!willRecord(inputs)) return out;
  const ins = inputs.map((t) => (t instanceof Tensor && t.requiresGrad ? t : null));
  const outs: Tensor[] = Array.isArray(out) ? out : [out as Tensor];
  const node: Node = { name, inputs: ins, outputs: outs, backward };
  outs.forEach((t, i) => {
    t.requiresGrad = true;
    t.gradNode = node;
    t.gradOutputIndex = i;
  });
  return out;
}

// Nodes reachable from `root`, each after every node that consumes its outputs.
function topoOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const next = node.inputs[i]?.gradNode;
      if (next && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  return order.reverse();
}

function accumulate(map: Map<Tensor, Tensor>, t: Tensor, g: Tensor): void {
  const prev = map.get(t);
  if (!prev) {
    map.set(t, g);
    return;
  }
  const sum = noGrad(() => add(prev, g));
  prev.dispose();
  g.dispose();
  map.set(t, sum);
}

export interface BackwardOptions {
  /** Keep the graph so that backward can run through it again (default false). */
  retainGraph?: boolean;
}

/**
 * Backpropagates from `root`: `gradient` is dL/droot (default 1 for a
 * one-element root). Leaf tensors that require gradients get it added to `.grad`.
 */
export function backward(root: Tensor, gradient?: Tensor | null, opts: BackwardOptions = {}): void {
  const fn = 'Tensor.backward';
  root.handle(fn);
  if (!root.requiresGrad) throw typeError(fn, `tensor does not require gradients (${root.describe()}); create the leaves with requiresGrad: true`);
  let seed: Tensor;
  const ownSeed = !gradient;
  if (gradient) {
    if (!(gradient instanceof Tensor)) throw typeError(fn, 'gradient must be a Tensor');
    if (shapeStr(gradient.shape) !== shapeStr(root.shape))
      throw rangeError(fn, `gradient has shape ${shapeStr(gradient.shape)} but the tensor has shape ${shapeStr(root.shape)}`);
    if (gradient.dtype !== root.dtype) throw typeError(fn, `gradient is ${gradient.dtype} but the tensor is ${root.dtype} (${root.describe()})`);
    seed = gradient;
  } else {
    if (root.size !== 1) throw rangeError(fn, `gradient can be omitted only for a one-element tensor, got shape ${shapeStr(root.shape)}; pass out.backward(gradient)`);
    seed = ones(root.shape, { device: root.device, dtype: root.dtype });
    unitSeeds.add(seed);
  }
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, seed);
  const leafDone = (t: Tensor, g: Tensor) => {
    const old = t.grad;
    if (old && !old.isDisposed) {
      const sum = noGrad(() => add(old, g));
      old.dispose();
      if (g !== seed || ownSeed) g.dispose();
      t.grad = keep(sum);
    } else {
      t.grad = keep(g === seed && !ownSeed ? noGrad(() => clone(g)) : g);
    }
  };

  if (!root.gradNode) {
    leafDone(root, seed);
    return;
  }
  const retain = opts.retainGraph === true;
  for (const node of topoOrder(root.gradNode)) {
    if (!node.backward) throw new Error(`${fn}: trying to backward through the graph a second time (${node.name}); pass { retainGraph: true } the first time`);
    const outGrads = node.outputs.map((o) => grads.get(o) ?? null);
    if (outGrads.every((g) => g === null)) continue;
    const inGrads = noGrad(() => node.backward!(outGrads));
    node.outputs.forEach((o, i) => {
      const g = outGrads[i];
      grads.delete(o);
      if (g && (g !== seed || ownSeed)) g.dispose();
    });
    if (!retain) node.backward = null;
    node.inputs.forEach((input, i) => {
      const g = inGrads[i];
      if (!input || !g) {
        if (g && !input) g.dispose();
        return;
      }
      if (shapeStr(g.shape) !== shapeStr(input.shape) || g.dtype !== input.dtype)
        throw new Error(`${fn}: internal error: ${node.name} returned a gradient (${g.describe()}) for an input (${input.describe()})`);
      if (input.gradNode) accumulate(grads, input, g);
      else leafDone(input, g);
    });
  }
  for (const g of grads.values()) if (g !== seed || ownSeed) g.dispose();
}

/** A tensor sharing storage with `t`, outside the graph (requiresGrad false). */
export function detach(t: Tensor): Tensor {
  return noGrad(() => t.to(t.device));
}

declare module './tensor' {
  interface Tensor {
    /** Backpropagates from this tensor (see backward()). */
    backward(gradient?: Tensor | null, opts?: BackwardOptions): void;
    /** A view of the same data outside the graph. */
    detach(): Tensor;
    /** True for tensors no op produced under recording (parameters, inputs). */
    readonly isLeaf: boolean;
  }
}

Tensor.prototype.backward = function (this: Tensor, gradient?: Tensor | null, opts?: BackwardOptions) {
  backward(this, gradient, opts);
};
Tensor.prototype.detach = function (this: Tensor) {
  return detach(this);
};
Object.defineProperty(Tensor.prototype, 'isLeaf', {
  get(this: Tensor) {
    return this.gradNode === null;
  },
});
