// tidy / dispose / keep, memory() accounting, and the GC safety net.
import t from 'tap';
import { setImmediate as tick } from 'node:timers/promises';

import * as cg from '../lib/index';

// Tensors and bytes live now, on the CPU.
const live = () => {
  const { numTensors, numBytes } = cg.memory().devices.cpu;
  return { numTensors, numBytes };
};

t.test('dispose frees at once and is idempotent; memory() counts tensors and bytes', async (t) => {
  const base = live();
  const a = cg.zeros([10, 10]);
  const b = a.reshape(100);
  t.same(live(), { numTensors: base.numTensors + 2, numBytes: base.numBytes + 400 });
  a.dispose();
  t.same(live(), { numTensors: base.numTensors + 1, numBytes: base.numBytes + 400 }, 'storage kept by the view');
  t.ok(a.isDisposed);
  a.dispose();
  b.dispose();
  t.same(live(), base);
  const m = cg.memory();
  t.equal(m.numTensors, m.devices.cpu.numTensors + m.devices.cuda.numTensors);
  t.equal(m.numBytes, m.devices.cpu.numBytes + m.devices.cuda.numBytes);
});

t.test('large freed blocks are cached for reuse; emptyCache returns them', async (t) => {
  cg.emptyCache();
  t.equal(cg.memory().devices.cpu.cachedBytes, 0);
  const a = cg.zeros([1 << 20]); // 4 MiB
  a.dispose();
  t.ok(cg.memory().devices.cpu.cachedBytes >= 4 << 20, 'the 4 MiB block is cached');
  const b = cg.ones([1 << 20]);
  t.equal(cg.memory().devices.cpu.cachedBytes, 0, 'and reused by the next tensor of that size');
  t.ok(b.toArray().every((v) => v === 1), 'reused memory holds the new values');
  b.dispose();
  cg.emptyCache();
  t.equal(cg.memory().devices.cpu.cachedBytes, 0);
});

t.test('tidy disposes everything but what fn returns', async (t) => {
  const base = live().numTensors;
  let inner: cg.Tensor[] = [];
  const out = cg.tidy(() => {
    inner = [cg.ones([3]), cg.zeros([4])];
    const kept = cg.full([2], 3);
    return { kept, list: [cg.arange(3)], label: 'x' };
  });
  t.ok(inner.every((x) => x.isDisposed), 'intermediates disposed');
  t.notOk(out.kept.isDisposed);
  t.notOk(out.list[0].isDisposed);
  t.equal(live().numTensors, base + 2);
  cg.dispose(out);
  t.equal(live().numTensors, base);
});

t.test('nested tidy hands returned tensors to the outer scope; keep() exempts', async (t) => {
  const base = live().numTensors;
  let fromInner: cg.Tensor | null = null;
  let kept: cg.Tensor | null = null;
  cg.tidy(() => {
    fromInner = cg.tidy(() => {
      cg.zeros([1]);
      return cg.ones([1]);
    });
    t.notOk(fromInner.isDisposed, 'alive inside the outer scope');
    kept = cg.keep(cg.zeros([2]));
  });
  t.ok(fromInner!.isDisposed, 'disposed by the outer scope');
  t.notOk(kept!.isDisposed, 'keep() survives');
  kept!.dispose();
  t.equal(live().numTensors, base);
});

t.test('tidy cleans up when fn throws, and rejects async functions', async (t) => {
  const base = live().numTensors;
  t.throws(() =>
    cg.tidy(() => {
      cg.zeros([5]);
      throw new Error('boom');
    }),
  { message: 'boom' });
  t.equal(live().numTensors, base);
  t.throws(() => cg.tidy((async () => cg.zeros([1])) as unknown as () => cg.Tensor), {
    name: 'TypeError',
    message: /cudagrad.tidy: fn returned a Promise/,
  });
  t.throws(() => cg.tidy(42 as unknown as () => void), { name: 'TypeError', message: /cudagrad.tidy: expected a function/ });
});

t.test('100k tensors created and freed: live count back to zero, RSS flat', async (t) => {
  const base = live().numTensors;
  const round = () => {
    for (let i = 0; i < 100_000; i++) {
      const x = cg.zeros([16]);
      x.dispose();
    }
    cg.tidy(() => {
      for (let i = 0; i < 1000; i++) cg.ones([64]);
    });
  };
  // Collect, then let the event loop run the deferred native finalizers.
  const settle = async () => {
    for (let i = 0; i < 2; i++) {
      global.gc?.();
      await tick();
    }
  };
  for (let r = 0; r < 3; r++) {
    round(); // warm up the allocator, the JIT and V8's heap sizing
    await settle();
  }
  const rss0 = process.memoryUsage().rss;
  for (let r = 0; r < 5; r++) {
    round();
    await settle();
  }
  const grown = process.memoryUsage().rss - rss0;
  t.equal(live().numTensors, base, 'live count back to the start');
  // 505k tensors of 64 B each would be 32 MB if leaked (more with handles); allow 8 MB of noise.
  t.ok(grown < 8 * 2 ** 20, `RSS grew by ${(grown / 2 ** 20).toFixed(2)} MiB`);
});

t.test('garbage-collected tensors are freed (the native handle\'s finalizer)', async (t) => {
  if (typeof global.gc !== 'function') {
    t.fail('run with --expose-gc (set in package.json tap.node-arg)');
    return;
  }
  const base = live().numTensors;
  (() => {
    for (let i = 0; i < 1000; i++) cg.zeros([256]);
  })();
  t.equal(live().numTensors, base + 1000);
  for (let i = 0; i < 20 && live().numTensors > base; i++) {
    global.gc();
    await tick();
  }
  t.equal(live().numTensors, base, 'all forgotten tensors freed');
});
