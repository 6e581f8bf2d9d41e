// Error helpers: every message names the function ("cudagrad.zeros: ...",
// "Tensor.reshape: ...") and, where it matters, the shapes involved.

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function typeError(fn: string, msg: string): TypeError {
  return new TypeError(`${fn}: ${msg}`);
}

export function rangeError(fn: string, msg: string): RangeError {
  return new RangeError(`${fn}: ${msg}`);
}

// Rejects option keys the function does not know (catches typos like `dtpye`).
export function checkOptions(fn: string, opts: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw typeError(fn, `options must be an object, got ${describe(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) throw typeError(fn, `unknown option '${key}' (expected one of ${allowed.join(', ')})`);
  }
  return opts as Record<string, unknown>;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  if (typeof v === 'string') return `the string '${v}'`;
  return `${typeof v} ${String(v)}`;
}
