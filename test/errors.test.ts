// Bad input: each case gets a TypeError or RangeError naming the function and
// the shapes, never a crash.
import t from 'tap';

import * as cg from '../lib/index';

t.test('wrong dtype', async (t) => {
  t.throws(() => cg.zeros([2], { dtype: 'float64' as cg.DType }), { name: 'TypeError', message: "cudagrad.zeros: unknown dtype the string 'float64' (expected 'float32', 'int32' or 'bfloat16')" });
  t.throws(() => cg.tensor([1.5], { dtype: 'int32' }), { name: 'RangeError', message: /cudagrad.tensor: value 1.5 at index 0 is not an int32/ });
  t.throws(() => cg.tensor([2 ** 31], { dtype: 'int32' }), { name: 'RangeError', message: /value 2147483648 at index 0 is not an int32/ });
  t.throws(() => cg.full([2], 0.5, { dtype: 'int32' }), { name: 'RangeError', message: 'cudagrad.full: fill value 0.5 is not an int32' });
  t.throws(() => cg.randn([2], { dtype: 'int32' as 'float32' }), { name: 'TypeError', message: 'cudagrad.randn: random tensors are float32 or bfloat16, got dtype int32' });
  t.throws(() => cg.zeros([2], { dtype: 'int32', requiresGrad: true }), { name: 'TypeError', message: /only float32 and bfloat16 tensors can require gradients/ });
  t.throws(() => cg.arange(0, 3, 0.5, { dtype: 'int32' }), { name: 'RangeError', message: /cudagrad.arange: start 0 and step 0.5 must be integers/ });
  t.throws(() => cg.tensor(new BigInt64Array(2)), { name: 'TypeError', message: /BigInt64Array data is not supported/ });
});

t.test('bad shapes: negative, non-finite, fractional, not an array', async (t) => {
  t.throws(() => cg.zeros([2, -1]), { name: 'RangeError', message: 'cudagrad.zeros: shape [2, -1] has an invalid size -1 at dim 1 (sizes are integers >= 0)' });
  t.throws(() => cg.ones([NaN]), { name: 'RangeError', message: 'cudagrad.ones: shape [NaN] has a non-finite size at dim 0' });
  t.throws(() => cg.full([Infinity, 2], 1), { name: 'RangeError', message: 'cudagrad.full: shape [Infinity, 2] has a non-finite size at dim 0' });
  t.throws(() => cg.rand([2.5]), { name: 'RangeError', message: /cudagrad.rand: shape \[2.5\] has an invalid size 2.5/ });
  t.throws(() => cg.zeros('3' as unknown as number[]), { name: 'TypeError', message: "cudagrad.zeros: shape must be an array of sizes, got the string '3'" });
  t.throws(() => cg.zeros([1, '2'] as unknown as number[]), { name: 'TypeError', message: /has a non-number size at dim 1/ });
  t.throws(() => cg.zeros([2 ** 27, 2 ** 27]), { name: 'RangeError', message: /more than 2\^53 elements/ });
  t.throws(() => cg.arange(0, Infinity), { name: 'RangeError', message: 'cudagrad.arange: argument 2 is not finite (Infinity)' });
  t.throws(() => cg.arange(0, 5, 0), { name: 'RangeError', message: 'cudagrad.arange: step must not be zero' });
});

t.test('data of the wrong length or form', async (t) => {
  t.throws(() => cg.tensor([1, 2, 3, 4, 5], { shape: [2, 3] }), { name: 'RangeError', message: 'cudagrad.tensor: data has 5 elements but shape [2, 3] needs 6' });
  t.throws(() => cg.tensor(new Float32Array(4), { shape: [3] }), { name: 'RangeError', message: 'cudagrad.tensor: data has 4 elements but shape [3] needs 3' });
  t.throws(() => cg.tensor([[1, 2], [3]]), { name: 'RangeError', message: 'cudagrad.tensor: ragged nested array: data[1] has length 1, expected length 2 (inferred shape [2, 2])' });
  t.throws(() => cg.tensor([[1, 2], 3] as unknown as number[][]), { name: 'RangeError', message: /data\[1\] has number 3, expected length 2/ });
  t.throws(() => cg.tensor([1, 'a'] as unknown as number[]), { name: 'TypeError', message: "cudagrad.tensor: data[1] is the string 'a', expected a number" });
  t.throws(() => cg.tensor('abc' as unknown as number), { name: 'TypeError', message: /data must be a number, a nested array of numbers or a typed array/ });
  t.throws(() => cg.tensor([1], { dtpye: 'int32' } as unknown as cg.CreateOptions), { name: 'TypeError', message: "cudagrad.tensor: unknown option 'dtpye' (expected one of dtype, device, requiresGrad, shape)" });
});

t.test('bad device names, and CUDA when there is none', async (t) => {
  t.throws(() => cg.zeros([2], { device: 'gpu' as cg.Device }), { name: 'TypeError', message: "cudagrad.zeros: unknown device the string 'gpu' (expected 'cpu', 'cuda' or 'cuda:N')" });
  t.throws(() => cg.zeros([2]).to('tpu' as cg.Device), { name: 'TypeError', message: /Tensor.to: unknown device/ });
  if (cg.cuda.available()) {
    t.throws(() => cg.zeros([2], { device: `cuda:${cg.cuda.deviceCount()}` as cg.Device }), { name: 'RangeError', message: /does not exist/ });
  } else {
    const reason = cg.cuda.reason();
    t.ok(reason.length > 0, `reason given: ${reason}`);
    t.throws(() => cg.zeros([2], { device: 'cuda' }), { message: `cudagrad.full: CUDA is not available: ${reason}` });
    t.throws(() => cg.rand([2], { device: 'cuda:1' }), { message: /cudagrad.rand: CUDA is not available/ });
    t.throws(() => cg.tensor([1]).to('cuda'), { message: /Tensor.to: CUDA is not available/ });
    t.throws(() => cg.setDefaultDevice('cuda'), { message: /cudagrad.setDefaultDevice: CUDA is not available/ });
  }
});

t.test('a disposed tensor', async (t) => {
  const x = cg.zeros([2, 3]);
  x.dispose();
  const msg = (fn: string) => `${fn}: tensor was disposed (shape [2, 3], float32, cpu)`;
  t.throws(() => x.toArray(), { name: 'TypeError', message: msg('Tensor.toArray') });
  t.throws(() => x.item(), { name: 'TypeError', message: msg('Tensor.item') });
  t.throws(() => x.reshape(6), { name: 'TypeError', message: msg('Tensor.reshape') });
  t.throws(() => x.to('cpu'), { name: 'TypeError', message: msg('Tensor.to') });
  await t.rejects(x.data(), { name: 'TypeError', message: msg('Tensor.data') });
  t.same(x.shape, [2, 3], 'metadata stays readable');
});

t.test('reshape and item size mismatches', async (t) => {
  const x = cg.zeros([2, 3]);
  t.throws(() => x.reshape(4, 2), { name: 'RangeError', message: 'Tensor.reshape: cannot reshape tensor of shape [2, 3] (6 elements) to [4, 2] (8 elements)' });
  t.throws(() => x.reshape(4, -1), { name: 'RangeError', message: 'Tensor.reshape: cannot reshape tensor of shape [2, 3] (6 elements) to [4, -1]' });
  t.throws(() => x.reshape(-1, -1), { name: 'RangeError', message: /invalid size -1 at dim 1/ });
  t.throws(() => x.item(), { name: 'RangeError', message: 'Tensor.item: tensor has 6 elements (shape [2, 3], float32, cpu); item() needs exactly one' });
});

t.test('random-number arguments', async (t) => {
  t.throws(() => cg.rand([2], { seed: -1 }), { name: 'RangeError', message: 'cudagrad.rand: seed -1 must be a non-negative integer' });
  t.throws(() => cg.rand([2], { seed: 2n ** 64n }), { name: 'RangeError', message: /seed \d+ must be in \[0, 2\^64\)/ });
  t.throws(() => cg.randn([2], { std: -1 }), { name: 'RangeError', message: 'cudagrad.randn: std -1 is negative' });
  t.throws(() => cg.rand([2], { low: 2, high: 1 }), { name: 'RangeError', message: 'cudagrad.rand: low 2 is greater than high 1' });
  t.throws(() => cg.randn([2], { mean: NaN }), { name: 'TypeError', message: 'cudagrad.randn: mean must be a finite number, got number NaN' });
  t.throws(() => cg.manualSeed(1.5), { name: 'RangeError', message: 'cudagrad.manualSeed: seed 1.5 must be a non-negative integer' });
  t.throws(() => cg.setNumThreads(0), { name: 'RangeError', message: /cudagrad.setNumThreads: 0 is not a thread count/ });
});

t.test('the native layer validates too (no JS checks in front)', async (t) => {
  // Call the addon directly, as a caller skipping lib/ would.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { native } = require('../lib/native') as typeof import('../lib/native');
  t.throws(() => native.full([2, -1], 'float32', 0, 'cpu'), { name: 'RangeError', message: /cudagrad.full: shape entry 1 \(-1\) is not a non-negative integer size/ });
  t.throws(() => native.full([2], 'float16' as 'float32', 0, 'cpu'), { name: 'TypeError', message: "cudagrad.full: unknown dtype 'float16' (expected 'float32', 'int32' or 'bfloat16')" });
  t.throws(() => native.fromData(new Float32Array(3), [2, 2], 'float32', 'cpu'), { name: 'RangeError', message: 'cudagrad.tensor: data has 3 elements but shape [2, 2] needs 4' });
  t.throws(() => native.fromData(new Float32Array(4), [4], 'int32', 'cpu'), { name: 'TypeError', message: 'cudagrad.tensor: data must be a Int32Array for dtype int32' });
  t.throws(() => native.full([1], 'int32', 2 ** 40, 'cpu'), { name: 'RangeError', message: /fill value 1.09951e\+12 is not an int32 value/ });
  t.throws(() => native.arange(0, 1, -3, 'float32', 'cpu'), { name: 'RangeError', message: /length -3 is not a valid size/ });
  t.throws(() => native.uniform([2], null, 1, 0, 'cpu'), { name: 'RangeError', message: 'cudagrad.rand: low 1 is greater than high 0' });
  t.throws(() => native.full([1], 'float32', 0, 'cuda:x'), { name: 'TypeError', message: /unknown device 'cuda:x'/ });
  const h = native.full([2], 'float32', 0, 'cpu');
  h.dispose();
  t.throws(() => h.reshape([2]), { name: 'TypeError', message: 'Tensor.reshape: tensor was disposed' });
  t.throws(() => new (native as unknown as { Handle: new () => unknown }).Handle(), { name: 'TypeError', message: /Handle cannot be constructed from JS/ });
});

t.test('out of memory: a RangeError naming the op, the bytes and the shape; the process carries on', async (t) => {
  const huge = [1 << 20, 1 << 20]; // 4 TiB of float32
  t.throws(() => cg.zeros(huge), { name: 'RangeError', message: /^cudagrad\.\w+: out of host memory allocating 4398046511104 bytes on cpu for a tensor of shape \[1048576, 1048576\]$/ });
  if (cg.cuda.available()) {
    t.throws(() => cg.zeros(huge, { device: 'cuda' }), { name: 'RangeError', message: /^cudagrad\.\w+: CUDA out of memory allocating 4398046511104 bytes on cuda:0 .* for a tensor of shape \[1048576, 1048576\]$/ });
    const big = cg.ones([1 << 20, 1], { device: 'cuda' });
    t.throws(() => cg.mul(big, cg.ones([1, 1 << 20], { device: 'cuda' })), { name: 'RangeError', message: /^cudagrad\.mul: CUDA out of memory .* for a tensor of shape \[1048576, 1048576\]$/ }, 'an op whose output does not fit');
    t.equal(cg.ones([2], { device: 'cuda' }).add(1).toArray()[0], 2, 'CUDA still works afterwards');
  }
  t.equal(cg.ones([2]).add(1).toArray()[0], 2, 'the CPU still works afterwards');
});

t.test('device mix: ops on tensors of two devices name the op, the shapes and the devices', async (t) => {
  if (!cg.cuda.available()) {
    t.skip(`no CUDA device: ${cg.cuda.reason()}`, () => {});
    return;
  }
  const a = cg.zeros([2, 3], { device: 'cuda' });
  const b = a.to('cpu');
  t.equal(a.device, 'cuda');
  t.equal(b.device, 'cpu');
  t.throws(() => cg.add(a, b), { name: 'TypeError', message: 'cudagrad.add: expected all tensors on one device, got [2, 3] on cuda, [2, 3] on cpu' });
  t.throws(() => cg.matmul(a, cg.zeros([3, 4])), { message: /^cudagrad\.matmul.*one device.*\[2, 3\] on cuda, \[3, 4\] on cpu/ });
  const w = cg.ones([3]);
  t.throws(() => cg.layerNorm(a, w, null), { message: /^cudagrad\.layerNorm.*one device.*\[2, 3\] on cuda, \[3\] on cpu/ });
});
