// tidy() scopes: every tensor created while a scope is open is recorded in the
// innermost one; when fn returns, the scope disposes what it recorded except
// what fn returned (found inside arrays, plain objects, Maps and Sets), which
// moves to the enclosing scope.

export interface Disposable {
  dispose(): void;
}

const scopes: Set<Disposable>[] = [];

export function track(t: Disposable): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

function disposeAll(scope: Set<Disposable>, except?: Set<Disposable>): void {
  for (const t of scope) if (!except?.has(t)) t.dispose();
}

// Adds to `found` every tracked object of `scope` reachable from `value`.
function collect(value: unknown, scope: Set<Disposable>, found: Set<Disposable>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (scope.has(value as Disposable)) {
    found.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, scope, found, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      collect(k, scope, found, seen);
      collect(v, scope, found, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) collect(v, scope, found, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    for (const v of Object.values(value)) collect(v, scope, found, seen);
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it
 * returns. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`cudagrad.tidy: expected a function, got ${typeof fn}`);
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    disposeAll(scope);
    throw e;
  }
  scopes.pop();
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    disposeAll(scope);
    throw new TypeError('cudagrad.tidy: fn returned a Promise; tidy only works with synchronous functions');
  }
  const kept = new Set<Disposable>();
  collect(result, scope, kept, new Set());
  disposeAll(scope, kept);
  for (const t of kept) track(t);
  return result;
}

/** Exempts `t` from disposal by the enclosing tidy scopes. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
