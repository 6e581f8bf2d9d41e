// bfloat16 tensors and cudagrad.cast on every device: float32 -> bfloat16
// rounding against an independent round-to-nearest-even reference (ties,
// overflow, denormals, NaN, -0), every bf16 pattern back to float32 exactly,
// int32 conversions, creation in bf16, readback (toArray, data, item, to),
// autograd through casts (gradients cast back; bf16 gradients accumulated in
// float32 and rounded once), safetensors BF16, and errors. (Other ops on bf16:
// test/bf16-ops.test.ts.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { bf16Round, f32BitsOf, forEachSimd, fromF32Bits, testDevices, uniform } from './oracle';

// Float32 values covering the rounding cases: random bit patterns (no NaN),
// exact ties with odd and even last kept bits, the overflow boundary, denormals, zeros.
function roundingCases(): Float32Array {
  const out: number[] = [0, -0, 1, -1, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, 1e-40];
  const special = [0x3f808000, 0x3f818000, 0x3f807fff, 0x3f808001, 0x7f7f7fff, 0x7f7f8000, 0xff7f8000, 0x00008000, 0x00018000, 0x007fffff, 0x80008000];
  for (const b of special) out.push(fromF32Bits(b));
  let s = 12345;
  for (let i = 0; i < 3000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const r = (s ^ (s >>> 13) ^ Math.imul(i, 0x9e3779b9)) >>> 0;
    if ((r & 0x7f800000) === 0x7f800000) continue; // inf/NaN patterns are listed above
    out.push(fromF32Bits(r));
  }
  return Float32Array.from(out);
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function firstDiff(got: ArrayLike<number>, want: ArrayLike<number>): string {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < got.length; i++) if (!same(got[i], want[i])) return `at ${i}: got ${got[i]}, want ${want[i]}`;
  return '';
}

for (const device of testDevices()) {
  t.test(`float32 -> bfloat16 rounds to nearest even (${device})`, async (t) => {
    const x = roundingCases();
    // The CPU's float32 <-> bf16 loops exist per SIMD level (native/cpu/cast.inc).
    await forEachSimd(t, (t, level) => {
      const b = cg.tensor(x, { device }).cast('bfloat16');
      t.equal(b.dtype, 'bfloat16');
      t.equal(b.device, device);
      t.equal(firstDiff(b.toArray(), Array.from(x, bf16Round)), '', `${x.length} values (${level})`);
    });
    // The creation path rounds the same way.
    t.equal(firstDiff(cg.tensor(x, { dtype: 'bfloat16', device }).toArray(), Array.from(x, bf16Round)), '', 'tensor(..., {dtype})');
    const nan = cg.tensor(Float32Array.from([NaN, fromF32Bits(0x7f800001), fromF32Bits(0xffc00001)]), { device }).cast('bfloat16');
    t.ok(Array.from(nan.toArray()).every(Number.isNaN), 'NaN (signalling ones too) stays NaN');
  });

  t.test(`every bfloat16 pattern widens to float32 exactly (${device})`, async (t) => {
    const vals = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) vals[h] = fromF32Bits(h << 16);
    await forEachSimd(t, (t, level) => {
      const b = cg.tensor(vals, { dtype: 'bfloat16', device, shape: [256, 256] });
      const back = b.cast('float32').toArray();
      let bad = -1;
      for (let h = 0; h < 65536 && bad < 0; h++) {
        const isNaN = (h & 0x7fff) > 0x7f80;
        if (isNaN ? !Number.isNaN(back[h]) : f32BitsOf(back[h]) !== (h << 16) >>> 0) bad = h;
      }
      t.equal(bad, -1, `bf16 -> float32 -> bits are the pattern (NaNs stay NaN) (${level})`);
    });
  });

  t.test(`int32 conversions (${device})`, (t) => {
    const ints = Int32Array.from([0, 1, -1, 16777216, 16777217, 16777219, -16777219, 2147483647, -2147483648, 257, 259, 123456789]);
    const it = cg.tensor(ints, { device });
    t.equal(firstDiff(it.cast('float32').toArray(), Array.from(ints, Math.fround)), '', 'int32 -> float32 (round to nearest even)');
    t.equal(firstDiff(it.cast('bfloat16').toArray(), Array.from(ints, (v) => bf16Round(Math.fround(v)))), '', 'int32 -> bfloat16 through float32');
    const fl = Float32Array.from([0.5, -0.5, 1.9999, -1.9999, 2.5, -7.75, 3e9, -3e9, 2147483520, -2147483648, Infinity, -Infinity, NaN, 1e-30]);
    const want = Array.from(fl, (v) => (Number.isNaN(v) ? 0 : v >= 2 ** 31 ? 2 ** 31 - 1 : v <= -(2 ** 31) ? -(2 ** 31) : Math.trunc(v) || 0));
    const fi = cg.tensor(fl, { device }).cast('int32');
    t.equal(fi.dtype, 'int32');
    t.equal(firstDiff(fi.toArray(), want), '', 'float32 -> int32 truncates, saturates, NaN -> 0');
    const bi = cg.tensor(fl, { device, dtype: 'bfloat16' }).cast('int32');
    const wantB = Array.from(fl, (v) => bf16Round(v)).map((v) => (Number.isNaN(v) ? 0 : v >= 2 ** 31 ? 2 ** 31 - 1 : v <= -(2 ** 31) ? -(2 ** 31) : Math.trunc(v) || 0));
    t.equal(firstDiff(bi.toArray(), wantB), '', 'bfloat16 -> int32');
    t.end();
  });

  t.test(`bfloat16 creation and readback (${device})`, async (t) => {
    t.equal(firstDiff(cg.zeros([3, 5], { dtype: 'bfloat16', device }).toArray(), new Array(15).fill(0)), '', 'zeros');
    t.equal(firstDiff(cg.full([7], 1.7, { dtype: 'bfloat16', device }).toArray(), new Array(7).fill(bf16Round(Math.fround(1.7)))), '', 'full rounds the value');
    const ar = cg.arange(0, 3, 0.3, { dtype: 'bfloat16', device });
    t.equal(firstDiff(ar.toArray(), Array.from({ length: 10 }, (_, i) => bf16Round(Math.fround(i * 0.3)))), '', 'arange');
    const r32 = cg.randn([1001], { seed: 7, device });
    const r16 = cg.randn([1001], { seed: 7, device, dtype: 'bfloat16' });
    t.equal(firstDiff(r16.toArray(), Array.from(r32.toArray(), bf16Round)), '', 'randn in bf16 = the float32 stream rounded');
    const u16 = cg.rand([33], { seed: 3, device, dtype: 'bfloat16', low: -2, high: 2 });
    t.equal(firstDiff(u16.toArray(), Array.from(cg.rand([33], { seed: 3, device, low: -2, high: 2 }).toArray(), bf16Round)), '', 'rand');
    const x = cg.tensor([[1.5, -2.25], [1e-3, 300.7]], { dtype: 'bfloat16', device });
    const want = [1.5, -2.25, bf16Round(Math.fround(1e-3)), bf16Round(Math.fround(300.7))];
    t.equal(firstDiff(await x.data(), want), '', 'data() resolves float32 values');
    t.equal(x.toArray() instanceof Float32Array, true, 'toArray gives a Float32Array');
    t.equal(cg.tensor(2.75, { dtype: 'bfloat16', device }).item(), 2.75, 'item');
    const moved = x.to('cpu').to(device);
    t.equal(moved.dtype, 'bfloat16');
    t.equal(firstDiff(moved.toArray(), want), '', 'to(device) keeps the dtype and values');
    t.match(x.toString(), /bfloat16/);
    t.equal(firstDiff(x.clone().toArray(), want), '', 'clone');
    t.equal(firstDiff(x.reshape([4]).toArray(), want), '', 'reshape');
    t.same(cg.tensor([], { dtype: 'bfloat16', device }).cast('float32').shape, [0], 'empty tensors cast');
  });

  t.test(`autograd through casts (${device})`, (t) => {
    const n = 37;
    const xs = uniform(n, 11, -3, 3);
    const ws = uniform(n, 12, -2, 2);
    const x = cg.tensor(Float32Array.from(xs), { device, requiresGrad: true });
    const w = cg.tensor(Float32Array.from(ws), { device });
    // loss = sum(w * float32(bf16(x))): each cast passes the gradient through
    // in its input's dtype (as torch), so the bf16 tensor's gradient is bf16(w)
    // and x's is that, widened: dx = bf16(w).
    const h = x.to('bfloat16');
    t.equal(h.requiresGrad, true);
    h.cast('float32').mul(w).sum().backward();
    t.equal(x.grad!.dtype, 'float32');
    t.equal(firstDiff(x.grad!.toArray(), Array.from(ws, (v) => bf16Round(Math.fround(v)))), '', 'float32 leaf: gradient through float32 -> bf16 -> float32');
    // A bf16 leaf used twice: its two float32 gradients are rounded to bf16
    // (cast backward), then summed in float32 and rounded once.
    const b = cg.tensor(Float32Array.from(xs), { device, dtype: 'bfloat16', requiresGrad: true });
    const b32 = b.cast('float32');
    b32.mul(w).add(b32.mul(b32)).sum().backward();
    const bv = Array.from(xs, bf16Round);
    // b32 has two uses, summed in float32 before the cast's backward rounds once: w + 2 b.
    const want = bv.map((v, i) => bf16Round(Math.fround(Math.fround(ws[i]) + Math.fround(2 * v))));
    t.equal(b.grad!.dtype, 'bfloat16');
    t.equal(firstDiff(b.grad!.toArray(), want), '', 'bf16 leaf gradient = bf16(w + 2b)');
    const c = cg.tensor(Float32Array.from(xs), { device, dtype: 'bfloat16', requiresGrad: true });
    const l1 = c.cast('float32').mul(w).sum();
    const l2 = c.cast('float32').mul(cg.full([n], 3, { device })).sum();
    l1.backward();
    l2.backward();
    const want2 = ws.map((v) => bf16Round(Math.fround(bf16Round(Math.fround(v)) + 3)));
    t.equal(firstDiff(c.grad!.toArray(), Array.from(want2)), '', 'two backward calls accumulate .grad in float32, rounded once');
    const r = cg.tensor([1, 2], { device, dtype: 'bfloat16', requiresGrad: true }).to('bfloat16');
    t.throws(() => r.backward(cg.tensor([1, 1], { device })), { name: 'TypeError', message: /gradient is float32 but the tensor is bfloat16/ });
    t.equal(cg.tensor([1.5], { device, requiresGrad: true }).cast('int32').requiresGrad, false, 'an int32 result carries no gradient');
    t.end();
  });
}

t.test('bad dtypes give clear errors', (t) => {
  const b = cg.tensor([[1, 2], [3, 4]], { dtype: 'bfloat16' });
  t.throws(() => cg.cast(b, 'float16' as cg.DType), { name: 'TypeError', message: "cudagrad.cast: unknown dtype the string 'float16' (expected 'float32', 'int32' or 'bfloat16')" });
  t.throws(() => cg.tensor([1], { dtype: 'half' as cg.DType }), /cudagrad\.tensor: unknown dtype the string 'half'/);
  t.throws(() => cg.full([2], 3.4e38, { dtype: 'bfloat16' }), { name: 'RangeError', message: 'cudagrad.full: fill value 3.4e+38 overflows bfloat16' });
  // The kernels themselves refuse bf16 where the JS layer does not widen it.
  t.throws(() => cg.activationBackward('relu', b, b), { name: 'TypeError', message: 'cudagrad.relu backward: input must be float32, got bfloat16 tensor of shape [2, 2]' });
  t.throws(() => cg.sgdStep(b, b, null, { lr: 0.1 }), /cudagrad\.sgdStep.*float32.*bfloat16/);
  t.throws(() => cg.randn([2], { dtype: 'int32' as 'float32' }), /random tensors are float32 or bfloat16/);
  t.throws(() => cg.zeros([2], { dtype: 'int32', requiresGrad: true }), /only float32 and bfloat16 tensors can require gradients/);
  const p = cg.tensor([1, 2], { dtype: 'bfloat16', requiresGrad: true });
  t.throws(() => new cg.optim.AdamW([p]), /optim\.AdamW: params\[0\] must be float32/);
  t.end();
});

t.test('safetensors keeps bfloat16 tensors (BF16) and reads BF16 files', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bf16-'));
  const file = path.join(dir, 'x.safetensors');
  const vals = Float32Array.from([1, -2.5, 3.140625, NaN, -Infinity, -0, fromF32Bits(0x00010000)]);
  cg.io.saveSafetensors(file, { a: cg.tensor(vals, { dtype: 'bfloat16' }), f: cg.tensor([0.1]), i: cg.tensor([7], { dtype: 'int32' }) });
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  t.same(header.a, { dtype: 'BF16', shape: [7], data_offsets: [0, 14] });
  const raw = Array.from({ length: 7 }, (_, i) => buf.readUInt16LE(8 + n + 2 * i));
  t.same(raw.filter((_, i) => i !== 3), [0x3f80, 0xc020, 0x4049, 0xff80, 0x8000, 0x0001], 'stored as the bf16 bit patterns');
  const back = cg.io.loadSafetensors(file);
  t.equal(back.a.dtype, 'bfloat16');
  t.equal(firstDiff(back.a.toArray(), vals), '', 'values round-trip (NaN, -inf, -0, denormal)');
  t.equal(back.f.dtype, 'float32');
  // A hand-made BF16 file (as PyTorch writes bf16 weights), at an odd data offset.
  const hjson = Buffer.from(JSON.stringify({ w: { dtype: 'BF16', shape: [3], data_offsets: [0, 6] } }) + ' ');
  const lenb = Buffer.alloc(8);
  lenb.writeBigUInt64LE(BigInt(hjson.length));
  const data = Buffer.alloc(6);
  [0x4000, 0xbf00, 0x3c24].forEach((h, i) => data.writeUInt16LE(h, 2 * i));
  fs.writeFileSync(file, Buffer.concat([lenb, hjson, data]));
  t.equal(firstDiff(cg.io.loadSafetensors(file).w.toArray(), [2, -0.5, fromF32Bits(0x3c240000)]), '', 'BF16 file read');
  // A bf16 state dict loads into float32 parameters (exact widening).
  const lin = new cg.nn.Linear(3, 2);
  const src = new cg.nn.Linear(3, 2);
  const dict = Object.fromEntries(Object.entries(src.stateDict()).map(([k, v]) => [k, v.cast('bfloat16')]));
  lin.loadStateDict(dict);
  t.equal(firstDiff(lin.weight.toArray(), dict.weight.toArray()), '', 'loadStateDict widens bf16 values');
  t.equal(lin.weight.dtype, 'float32');
  fs.rmSync(dir, { recursive: true });
  t.end();
});
