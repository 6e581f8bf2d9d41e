// nn.Module: the base of every layer. A module owns named parameters (leaf
// tensors with requiresGrad) and named child modules, in registration order;
// names nest with dots as in PyTorch ('0.weight', 'encoder.ln.bias').
// Parameters are kept out of tidy() scopes: they live until dispose().
// stateDict() returns the live parameters (not copies); loadStateDict() copies
// values into them in place, so optimizers holding them stay valid.
import { noGrad } from '../autograd';
import { Device, parseDevice } from '../device';
import { checkOptions, describe, rangeError, shapeStr, typeError } from '../errors';
import { cast } from '../ops/cast';
import { keep } from '../scope';
import { Tensor } from '../tensor';
import { copyInto } from './copy';

export interface LoadStateDictOptions {
  /** Every parameter must be in the dict and every key a parameter (default true). */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** Training mode (Dropout is active); eval() clears it. */
  training = true;
  readonly #params = new Map<string, Tensor | null>();
  readonly #children = new Map<string, Module>();

  /** The module's computation (tensors, then an options object where a layer takes one). */
  abstract forward(...inputs: any[]): Tensor;

  /** Registers (or replaces) parameter `name`; null records an absent one (e.g. no bias). */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    const fn = `${this.constructor.name}.registerParameter`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw typeError(fn, `name must be a non-empty string without dots, got ${describe(name)}`);
    if (t !== null) {
      if (!(t instanceof Tensor)) throw typeError(fn, `parameter '${name}' must be a Tensor or null, got ${describe(t)}`);
      if (t.dtype !== 'float32') throw typeError(fn, `parameter '${name}' must be float32, got ${t.describe()}`);
      t.requiresGrad = true;
      keep(t);
    }
    this.#params.set(name, t);
    return t;
  }

  /** Registers child module `name` (its parameters appear as 'name.*'). */
  protected registerModule<M extends Module>(name: string, m: M): M {
    const fn = `${this.constructor.name}.registerModule`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw typeError(fn, `name must be a non-empty string without dots, got ${describe(name)}`);
    if (!(m instanceof Module)) throw typeError(fn, `module '${name}' must be an nn.Module, got ${describe(m)}`);
    this.#children.set(name, m);
    return m;
  }

  /** Parameter `name` of this module (not of children). */
  protected param(name: string): Tensor | null {
    return this.#params.get(name) ?? null;
  }

  /** (name, module) for the direct children. */
  namedChildren(): [string, Module][] {
    return [...this.#children];
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.#children) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** (dotted name, parameter) for this module and its descendants, in registration order. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, p] of m.#params) {
        if (p === null || seen.has(p)) continue; // shared parameters appear once
        seen.add(p);
        out.push([prefix ? `${prefix}.${n}` : n, p]);
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** name -> parameter (the live tensors, not copies: clone them to snapshot). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies the dict's values into the parameters in place (shapes must match;
   * values move to the parameter's device; bfloat16 values widen to float32). strict (default): missing or
   * unexpected keys are an error; otherwise they are returned.
   */
  loadStateDict(dict: Record<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const fn = `${this.constructor.name}.loadStateDict`;
    const o = checkOptions(fn, opts, ['strict']);
    if (dict === null || typeof dict !== 'object') throw typeError(fn, `dict must be an object of tensors, got ${describe(dict)}`);
    const strict = o.strict !== false;
    const own = new Map(this.namedParameters());
    const missingKeys = [...own.keys()].filter((k) => !(k in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !own.has(k));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
      throw rangeError(fn, `state dict does not match the module (${parts.join('; ')})`);
    }
    for (const [k, p] of own) {
      const v = dict[k];
      if (v === undefined) continue;
      if (!(v instanceof Tensor)) throw typeError(fn, `dict['${k}'] must be a Tensor, got ${describe(v)}`);
      if (shapeStr(v.shape) !== shapeStr(p.shape) || !(v.dtype === p.dtype || v.dtype === 'bfloat16'))
        throw rangeError(fn, `dict['${k}'] has ${v.describe()} but the parameter has ${p.describe()}`);
    }
    noGrad(() => {
      for (const [k, p] of own) {
        const v = dict[k];
        if (v === undefined) continue;
        // bfloat16 values (a bf16 checkpoint) widen exactly, as torch's load_state_dict converts.
        const src = v.dtype === p.dtype ? v : cast(v, p.dtype);
        copyInto(p, src);
        if (src !== v) src.dispose();
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode on this module and its descendants. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw typeError(`${this.constructor.name}.train`, `mode must be a boolean, got ${describe(mode)}`);
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter to `device` (new tensors; the old ones are disposed).
   * Call it before creating the optimizer, as in PyTorch.
   */
  to(device: Device): this {
    const d = parseDevice(`${this.constructor.name}.to`, device);
    for (const [, m] of this.namedModules()) {
      for (const [n, p] of m.#params) {
        if (p === null || p.device === d) continue;
        const moved = noGrad(() => p.to(d));
        p.dispose();
        m.registerParameter(n, moved);
      }
    }
    return this;
  }

  /** Drops every parameter's gradient (grad = null, the tensor disposed). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees the parameters (and their gradients). */
  dispose(): void {
    this.zeroGrad();
    for (const p of this.parameters()) p.dispose();
  }

  /** One-line description of this module's own configuration (layers override). */
  protected extraRepr(): string {
    return '';
  }

  toString(): string {
    const kids = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (!kids.length) return `${head})`;
    const body = kids.map(([n, m]) => `  (${n}): ${m.toString().replace(/\n/g, '\n  ')}`).join('\n');
    return `${head}\n${body}\n)`;
  }
}
