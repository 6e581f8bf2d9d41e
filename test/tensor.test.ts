// Tensor creation and round trips, for both dtypes.
import t from 'tap';

import * as cg from '../lib/index';

t.test('nested arrays round-trip as float32 and int32', async (t) => {
  const a = cg.tensor([[1, 2, 3], [4, 5, 6.5]]);
  t.same(a.shape, [2, 3]);
  t.equal(a.dtype, 'float32');
  t.equal(a.device, 'cpu');
  t.equal(a.size, 6);
  t.equal(a.ndim, 2);
  t.ok(a.toArray() instanceof Float32Array);
  t.same(Array.from(a.toArray()), [1, 2, 3, 4, 5, 6.5]);

  const b = cg.tensor([[[-1], [2147483647]], [[-2147483648], [0]]], { dtype: 'int32' });
  t.same(b.shape, [2, 2, 1]);
  t.equal(b.dtype, 'int32');
  t.ok(b.toArray() instanceof Int32Array);
  t.same(Array.from(b.toArray()), [-1, 2147483647, -2147483648, 0]);
});

t.test('float32 values are rounded to float32, specials survive', async (t) => {
  const vals = [0.1, -1e-40, 3.4e38, Infinity, -Infinity, -0];
  const a = cg.tensor(vals).toArray();
  vals.forEach((v, i) => t.ok(Object.is(a[i], Math.fround(v)), `element ${i}: ${a[i]} is fround(${v})`));
  t.ok(Number.isNaN(cg.tensor([NaN]).item()));
});

t.test('typed arrays: dtype follows the array, shape option reshapes', async (t) => {
  const i32 = cg.tensor(new Int32Array([5, -6, 7, 8]), { shape: [2, 2] });
  t.equal(i32.dtype, 'int32');
  t.same(i32.shape, [2, 2]);
  t.same(Array.from(i32.toArray()), [5, -6, 7, 8]);

  const f32 = cg.tensor(new Float32Array([0.5, 1.5]));
  t.equal(f32.dtype, 'float32');
  t.same(f32.shape, [2]);

  const f64 = cg.tensor(new Float64Array([1 / 3]));
  t.equal(f64.dtype, 'float32');
  t.equal(f64.item(), Math.fround(1 / 3));

  const u8 = cg.tensor(new Uint8Array([1, 255]), { dtype: 'int32' });
  t.same(Array.from(u8.toArray()), [1, 255]);

  // A view into a larger buffer copies only its own elements.
  const big = new Float32Array([9, 1, 2, 3, 9]);
  t.same(Array.from(cg.tensor(big.subarray(1, 4)).toArray()), [1, 2, 3]);
  // The tensor owns a copy: changing the source later changes nothing.
  const src = new Float32Array([1, 2]);
  const c = cg.tensor(src);
  src[0] = 100;
  t.equal(c.toArray()[0], 1);
});

t.test('scalars and empty tensors', async (t) => {
  const s = cg.tensor(3.5);
  t.same(s.shape, []);
  t.equal(s.size, 1);
  t.equal(s.item(), 3.5);

  const e = cg.tensor([]);
  t.same(e.shape, [0]);
  t.equal(e.toArray().length, 0);
  const e2 = cg.zeros([3, 0, 2]);
  t.equal(e2.size, 0);
  t.same(Array.from(await e2.data()), []);
  t.same(cg.tensor([[], []]).shape, [2, 0]);
});

t.test('zeros, ones, full for both dtypes', async (t) => {
  t.same(Array.from(cg.zeros([2, 3]).toArray()), [0, 0, 0, 0, 0, 0]);
  t.same(Array.from(cg.ones(3, { dtype: 'int32' }).toArray()), [1, 1, 1]);
  t.equal(cg.ones([2], { dtype: 'int32' }).dtype, 'int32');
  t.same(Array.from(cg.full([2, 2], -7, { dtype: 'int32' }).toArray()), [-7, -7, -7, -7]);
  t.same(Array.from(cg.full([3], 0.1).toArray()), [Math.fround(0.1), Math.fround(0.1), Math.fround(0.1)]);
  // Large enough to be split over the thread pool: every element written.
  const big = cg.full([1 << 20], 2.5).toArray();
  t.ok(big.every((v) => v === 2.5));
});

t.test('arange follows torch.arange', async (t) => {
  const a = cg.arange(5);
  t.equal(a.dtype, 'int32');
  t.same(Array.from(a.toArray()), [0, 1, 2, 3, 4]);
  t.same(Array.from(cg.arange(2, 5).toArray()), [2, 3, 4]);
  t.same(Array.from(cg.arange(5, 0, -2).toArray()), [5, 3, 1]);
  const f = cg.arange(0, 1, 0.25);
  t.equal(f.dtype, 'float32');
  t.same(Array.from(f.toArray()), [0, 0.25, 0.5, 0.75]);
  t.same(Array.from(cg.arange(3, { dtype: 'float32' }).toArray()), [0, 1, 2]);
  t.equal(cg.arange(3, 3).size, 0);
  t.equal(cg.arange(5, 0).size, 0);
  const n = 100003; // odd size over the thread pool
  const big = cg.arange(n).toArray();
  t.ok(big.every((v, i) => v === i));
});

t.test('reshape is a view with -1 inference; to() same device shares storage', async (t) => {
  const a = cg.arange(24);
  const b = a.reshape(2, 3, 4);
  t.same(b.shape, [2, 3, 4]);
  t.same(a.reshape([4, -1]).shape, [4, 6]);
  t.same(a.reshape(-1).shape, [24]);
  t.same(cg.tensor(5).reshape([1, 1]).shape, [1, 1]);
  t.same(Array.from(b.toArray()), Array.from(a.toArray()));

  const before = cg.memory().devices.cpu.numBytes;
  const c = b.to('cpu');
  t.not(c, b);
  t.equal(cg.memory().devices.cpu.numBytes, before, 'same-device to() allocates nothing');
  b.dispose();
  t.same(Array.from(c.toArray()).slice(0, 3), [0, 1, 2], 'a view survives disposal of its source');
});

t.test('item, data() and toString', async (t) => {
  t.equal(cg.tensor([[42]]).item(), 42);
  const d = cg.arange(10, { dtype: 'float32' });
  const p = d.data();
  t.ok(p instanceof Promise);
  const v = await p;
  t.ok(v instanceof Float32Array);
  t.same(Array.from(v), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.equal(String(cg.tensor([1, 2], { dtype: 'int32' })), 'Tensor(shape [2], int32, cpu, [1, 2])');
  t.match(String(cg.zeros([100])), /^Tensor\(shape \[100\], float32, cpu\)$/);
  const x = cg.zeros(1);
  x.dispose();
  t.match(String(x), /disposed/);
});

t.test('requiresGrad is recorded', async (t) => {
  t.equal(cg.zeros([2], { requiresGrad: true }).requiresGrad, true);
  t.equal(cg.tensor([1]).requiresGrad, false);
  t.equal(cg.tensor([1]).grad, null);
});

t.test('CUDA round trips (needs a GPU)', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  const a = cg.tensor([[1, 2], [3, 4]], { device: 'cuda' });
  t.equal(a.device, 'cuda');
  t.same(Array.from(a.toArray()), [1, 2, 3, 4]);
  t.same(Array.from(await a.data()), [1, 2, 3, 4]);
  t.same(Array.from(a.to('cpu').toArray()), [1, 2, 3, 4]);
  t.same(Array.from(cg.arange(7, { device: 'cuda' }).toArray()), [0, 1, 2, 3, 4, 5, 6]);
  t.same(Array.from(cg.full([3], -2, { dtype: 'int32', device: 'cuda' }).toArray()), [-2, -2, -2]);
  const back = cg.tensor(new Int32Array([7, 8, 9])).to('cuda').reshape(3, 1).to('cpu');
  t.same(Array.from(back.toArray()), [7, 8, 9]);
  t.same(back.shape, [3, 1]);
});
