// Activation names shared by the ops, nn and keras: the list that error
// messages give, and gelu's `approximate` option. Internal: not re-exported on
// the cudagrad namespace (the Activation type is, through ops/activation).
import { checkOptions, describe, typeError } from '../errors';

/** 'gelu' is the tanh approximation (GPT-2); 'gelu_exact' is 0.5 x (1 + erf(x / sqrt 2)). */
export type Activation = 'relu' | 'gelu' | 'gelu_exact' | 'tanh' | 'sigmoid';

/** Every activation name, in the order error messages list them (as the native addon's). */
export const ACTIVATIONS: readonly Activation[] = ['relu', 'gelu', 'gelu_exact', 'tanh', 'sigmoid'];

/** "relu, gelu, gelu_exact, tanh or sigmoid" */
export const ACTIVATION_LIST = `${ACTIVATIONS.slice(0, -1).join(', ')} or ${ACTIVATIONS[ACTIVATIONS.length - 1]}`;

export interface GeluOptions {
  /** 'tanh' (default: the approximation GPT-2 uses) or 'none' (exact, erf: torch's default). */
  approximate?: 'tanh' | 'none';
}

/** The activation kind for gelu's options, checked for the op `fn` (which the errors name). */
export function geluKind(fn: string, opts: unknown): 'gelu' | 'gelu_exact' {
  const o = checkOptions(fn, opts, ['approximate']);
  const a = o.approximate ?? 'tanh';
  if (a !== 'tanh' && a !== 'none') throw typeError(fn, `approximate must be 'tanh' or 'none', got ${describe(a)}`);
  return a === 'tanh' ? 'gelu' : 'gelu_exact';
}
