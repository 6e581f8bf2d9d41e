// A small stand-in for the parts of tap's API the test files use, so that the
// compiled tests run on the GPU machine, which has Node but no devDependencies
// (tap with its dependencies is too big to carry). `require('tap')` resolves
// here when this file is preloaded (node -r bench/device/tap-shim.js). Prints
// TAP lines; exits 1 when any assertion failed. Semantics follow tap: `same`
// is deep loose equality, `match` with a string pattern is a substring test,
// `throws(fn, pattern)` matches the error against the pattern object.
'use strict';
const Module = require('node:module');
const util = require('node:util');

let pass = 0;
let fail = 0;
let skip = 0;

function deepSame(a, b) {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a == b || (Number.isNaN(a) && Number.isNaN(b)); // eslint-disable-line eqeqeq
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a == b; // eslint-disable-line eqeqeq
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepSame(a[k], b[k]));
}

function matches(found, pattern) {
  if (pattern instanceof RegExp) return pattern.test(String(found));
  if (typeof pattern === 'string') return typeof found === 'string' ? found.includes(pattern) : String(found).includes(pattern);
  if (typeof pattern === 'function') return found instanceof pattern;
  if (pattern && typeof pattern === 'object') {
    if (found === null || found === undefined) return false;
    return Object.keys(pattern).every((k) => matches(found[k], pattern[k]));
  }
  return found == pattern; // eslint-disable-line eqeqeq
}

class T {
  constructor(name, depth) {
    this.name = name;
    this.depth = depth;
    this.queue = Promise.resolve();
    this.teardowns = [];
    this.n = 0;
  }

  log(line) {
    console.log(`${'    '.repeat(this.depth)}${line}`);
  }

  assert(ok, msg, extra) {
    this.n++;
    if (ok) pass++;
    else fail++;
    this.log(`${ok ? 'ok' : 'not ok'} ${this.n} - ${msg || ''}`);
    if (!ok && extra !== undefined) this.log(`  # ${util.inspect(extra, { depth: 4, breakLength: 200 })}`);
    return ok;
  }

  // test(name, fn) or test(name, { skip }, fn), as tap: a truthy skip (a reason) skips fn.
  test(name, opts, fn) {
    if (typeof opts === 'function') [opts, fn] = [{}, opts];
    if (opts && opts.skip) {
      skip++;
      this.log(`ok - ${name} # SKIP ${opts.skip === true ? '' : opts.skip}`);
      return Promise.resolve();
    }
    const child = new T(name, this.depth + 1);
    const run = async () => {
      this.log(`# Subtest: ${name}`);
      try {
        await fn(child);
        await child.queue;
      } catch (e) {
        child.assert(false, `test threw: ${e && e.message}`, e && e.stack);
      }
      for (const f of child.teardowns) await f();
      this.assert(true, name);
    };
    const p = this.queue.then(run);
    this.queue = p;
    return p;
  }

  ok(v, m, e) { return this.assert(!!v, m || 'should be truthy', e); }
  notOk(v, m, e) { return this.assert(!v, m || 'should be falsy', e); }
  pass(m) { return this.assert(true, m || 'pass'); }
  fail(m, e) { return this.assert(false, m || 'fail', e); }
  equal(a, b, m, e) { return this.assert(Object.is(a, b) || a === b, m || 'should be equal', e ?? { found: a, wanted: b }); }
  not(a, b, m) { return this.assert(a !== b, m || 'should not be equal', { found: a, doNotWant: b }); }
  same(a, b, m, e) { return this.assert(deepSame(a, b), m || 'should be equivalent', e ?? { found: a, wanted: b }); }
  strictSame(a, b, m, e) { return this.same(a, b, m, e); }
  notSame(a, b, m) { return this.assert(!deepSame(a, b), m || 'should not be equivalent', { found: a }); }
  match(a, p, m, e) { return this.assert(matches(a, p), m || 'should match pattern', e ?? { found: a, pattern: String(p) }); }
  notMatch(a, p, m) { return this.assert(!matches(a, p), m || 'should not match pattern', { found: a, pattern: String(p) }); }
  type(a, ty, m) { return this.assert(typeof ty === 'string' ? typeof a === ty : a instanceof ty, m || 'type is ' + ty); }
  throws(fn, wanted, m) {
    if (typeof wanted === 'string') [wanted, m] = [undefined, wanted];
    try {
      fn();
    } catch (err) {
      return this.assert(wanted === undefined || matches(err, wanted), m || 'expected to throw', { error: String(err && err.message), wanted });
    }
    return this.assert(false, m || 'expected to throw', { wanted });
  }
  doesNotThrow(fn, m) {
    try {
      fn();
      return this.assert(true, m || 'should not throw');
    } catch (err) {
      return this.assert(false, m || 'should not throw', String(err));
    }
  }
  async rejects(p, wanted, m) {
    if (typeof wanted === 'string') [wanted, m] = [undefined, wanted];
    try {
      await (typeof p === 'function' ? p() : p);
    } catch (err) {
      return this.assert(wanted === undefined || matches(err, wanted), m || 'expected to reject', { error: String(err && err.message), wanted });
    }
    return this.assert(false, m || 'expected to reject');
  }
  async resolves(p, m) {
    try {
      await (typeof p === 'function' ? p() : p);
      return this.assert(true, m || 'expected to resolve');
    } catch (err) {
      return this.assert(false, m || 'expected to resolve', String(err));
    }
  }
  skip(m) {
    skip++;
    this.n++;
    this.log(`ok ${this.n} - ${m || ''} # SKIP`);
  }
  comment(...a) { this.log(`# ${a.join(' ')}`); }
  teardown(f) { this.teardowns.push(f); }
  plan() {}
  end() {}
  setTimeout() {}
}

const root = new T('root', 0);
const shim = Object.assign(root, { default: root, t: root, Test: T });
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'tap') return __filename;
  return resolve.call(this, request, ...rest);
};
module.exports = shim;

// The summary is printed at exit (writes to pipes and files are synchronous on
// Linux), after the main module and every queued test; a test still pending
// then never finished, which counts as a failure.
let started = 0;
let finished = 0;
const rootTest = root.test.bind(root);
root.test = (name, opts, fn) => {
  started++;
  return rootTest(name, opts, fn).finally(() => finished++);
};
process.on('exit', (code) => {
  if (finished < started) {
    fail++;
    console.log(`not ok - ${started - finished} test(s) never finished`);
  }
  console.log(`# shim { pass: ${pass}, fail: ${fail}, skip: ${skip} }`);
  if (fail && !code) process.exitCode = 1;
});
process.on('unhandledRejection', (e) => {
  fail++;
  console.log(`not ok - unhandled rejection: ${e && e.stack}`);
  process.exitCode = 1;
});
