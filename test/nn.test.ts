// nn modules: PyTorch-layout init from the Philox generator, the Module API
// (parameters, names, state dicts, train/eval, zeroGrad, to), gradients of a
// small MLP against central finite differences, state dicts through
// safetensors bit for bit, and clear errors for bad arguments.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { copyInto } from '../lib/nn/copy';
import { assertClose, f32, numericGrad, testDevices, uniform } from './oracle';

const nn = cg.nn;
const arr = (x: cg.Tensor) => Array.from(x.toArray());
// Overwrites a parameter's values in place.
const setValues = (p: cg.Tensor, v: ArrayLike<number>) => cg.tidy(() => copyInto(p, f32(v, [...p.shape])));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-nn-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('Linear: (out, in) layout and torch init U(-1/sqrt(in), 1/sqrt(in)) from the Philox generator', async (t) => {
  cg.manualSeed(7);
  const l = new nn.Linear(50, 30);
  t.same(l.weight.shape, [30, 50]);
  t.same(l.bias!.shape, [30]);
  const b = 1 / Math.sqrt(50);
  t.ok(l.weight.toArray().every((v) => v >= -b && v < b) && l.bias!.toArray().every((v) => v >= -b && v < b), 'within the bound');
  cg.manualSeed(7);
  const w = cg.rand([30, 50], { low: -b, high: b });
  const bias = cg.rand([30], { low: -b, high: b });
  t.same(arr(l.weight), arr(w), 'weight = cg.rand after the same seed');
  t.same(arr(l.bias!), arr(bias), 'then the bias');
  const v = Array.from(l.weight.toArray());
  const mean = v.reduce((a, c) => a + c, 0) / v.length;
  const varc = v.reduce((a, c) => a + (c - mean) ** 2, 0) / v.length;
  t.ok(Math.abs(mean) < 0.01 && Math.abs(varc - (b * b) / 3) < 0.002, `uniform moments (mean ${mean.toFixed(4)}, var ${varc.toFixed(5)})`);
  t.equal(new nn.Linear(3, 2, { bias: false }).bias, null, 'bias: false');
  t.equal(l.weight.requiresGrad && l.weight.isLeaf, true, 'parameters are leaves requiring grad');
  t.same(arr(l.forward(cg.ones([2, 50]))), arr(cg.linear(cg.ones([2, 50]), l.weight, l.bias)), 'forward = cg.linear');
  [l, new nn.Linear(3, 2)].forEach((m) => m.dispose());
  w.dispose();
  bias.dispose();
});

t.test('Embedding N(0, 1), LayerNorm ones/zeros, Dropout follows train/eval, activations', async (t) => {
  cg.manualSeed(3);
  const e = new nn.Embedding(10, 4);
  cg.manualSeed(3);
  t.same(arr(e.weight), arr(cg.randn([10, 4])), 'embedding weight = cg.randn after the same seed');
  const idx = cg.tensor([[1, 9], [0, 1]], { dtype: 'int32' });
  t.same(e.forward(idx).shape, [2, 2, 4]);
  const ln = new nn.LayerNorm(4, { eps: 1e-6 });
  const [w, b] = ln.parameters();
  t.same([arr(w), arr(b)], [[1, 1, 1, 1], [0, 0, 0, 0]]);
  const x = cg.randn([3, 4], { seed: 1 });
  t.same(arr(ln.forward(x)), arr(cg.layerNorm(x, w, b, 1e-6)));
  t.equal(new nn.LayerNorm(4, { elementwiseAffine: false }).parameters().length, 0);
  const d = new nn.Dropout(0.5);
  const ones = cg.ones([1000]);
  const y = d.forward(ones).toArray();
  t.ok(y.some((v) => v === 0) && y.some((v) => v === 2), 'training: zeros and 2s');
  d.eval();
  t.same(arr(d.forward(ones)), arr(ones), 'eval: identity');
  t.same(arr(new nn.GELU().forward(x)), arr(cg.gelu(x)), 'GELU(): tanh approximation (default)');
  t.same(arr(new nn.GELU({ approximate: 'tanh' }).forward(x)), arr(cg.gelu(x)));
  t.same(arr(new nn.GELU({ approximate: 'none' }).forward(x)), arr(cg.gelu(x, { approximate: 'none' })), "GELU({ approximate: 'none' }): exact");
  t.not(arr(new nn.GELU({ approximate: 'none' }).forward(x)).join(), arr(cg.gelu(x)).join(), 'the two forms differ');
  t.same([new nn.GELU().approximate, new nn.GELU({ approximate: 'none' }).approximate], ['tanh', 'none']);
  t.equal(String(new nn.GELU({ approximate: 'none' })), "GELU(approximate='none')");
  const gx = x.detach();
  gx.requiresGrad = true;
  new nn.GELU({ approximate: 'none' }).forward(gx).sum().backward();
  t.same(arr(gx.grad!), arr(cg.activationBackward('gelu_exact', cg.ones([3, 4]), x)), "GELU({ approximate: 'none' }) backward: the exact GELU's");
  t.throws(() => new nn.GELU({ approximate: 'exact' as never }), new TypeError("nn.GELU: approximate must be 'tanh' or 'none', got the string 'exact'"));
  t.throws(() => new nn.GELU({ approx: 'none' } as never), new TypeError("nn.GELU: unknown option 'approx' (expected one of approximate)"));
  t.same(arr(new nn.ReLU().forward(x)), arr(cg.relu(x)));
  t.same(arr(new nn.Tanh().forward(x)), arr(cg.tanh(x)));
  t.same(arr(new nn.Sigmoid().forward(x)), arr(cg.sigmoid(x)));
  t.same(new nn.Flatten().forward(cg.zeros([2, 3, 4])).shape, [2, 12]);
});

t.test('Module API: names, state dict, strict loading, train/eval, zeroGrad, to, tidy', async (t) => {
  const m = cg.tidy(() => new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Sequential(new nn.LayerNorm(8), new nn.Dropout(0.1)), new nn.Linear(8, 3, { bias: false })));
  t.same(
    m.namedParameters().map(([n]) => n),
    ['0.weight', '0.bias', '2.0.weight', '2.0.bias', '3.weight'],
    'dotted names in registration order',
  );
  t.equal(m.parameters().every((p) => !p.isDisposed), true, 'parameters made inside tidy survive it');
  t.equal(m.numParameters(), 4 * 8 + 8 + 8 + 8 + 8 * 3);
  t.equal(m.length, 4);
  t.match(String(m), /Sequential\(\n {2}\(0\): Linear\(inFeatures=4, outFeatures=8, bias=true\)/);
  const sd = m.stateDict();
  t.equal(sd['0.weight'], m.parameters()[0], 'stateDict holds the live parameters');
  m.eval();
  t.equal(m.namedModules().every(([, c]) => !c.training), true, 'eval() reaches every descendant');
  m.train();
  t.equal((m.at(2) as cg.nn.Sequential).at(1)!.training, true);

  const other = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Sequential(new nn.LayerNorm(8), new nn.Dropout(0.1)), new nn.Linear(8, 3, { bias: false }));
  const before = other.parameters();
  const r = other.loadStateDict(sd);
  t.same(r, { missingKeys: [], unexpectedKeys: [] });
  t.equal(other.parameters().every((p, i) => p === before[i]), true, 'loading copies in place: same tensor objects (optimizers stay valid)');
  other.parameters().forEach((p, i) => t.same(arr(p), arr(m.parameters()[i])));
  t.throws(() => other.loadStateDict({ '0.weight': sd['0.weight'], extra: sd['0.bias'] }), {
    name: 'RangeError',
    message: 'Sequential.loadStateDict: state dict does not match the module (missing keys: 0.bias, 2.0.weight, 2.0.bias, 3.weight; unexpected keys: extra)',
  });
  t.same(other.loadStateDict({ '0.weight': sd['0.weight'], extra: sd['0.bias'] }, { strict: false }), {
    missingKeys: ['0.bias', '2.0.weight', '2.0.bias', '3.weight'],
    unexpectedKeys: ['extra'],
  });
  t.throws(() => other.loadStateDict({ ...sd, '0.bias': cg.zeros([9]) }), {
    name: 'RangeError',
    message: "Sequential.loadStateDict: dict['0.bias'] has shape [9], float32, cpu but the parameter has shape [8], float32, cpu",
  });

  const x = cg.randn([5, 4], { seed: 2 });
  cg.tidy(() => m.forward(x).sum().backward());
  t.equal(m.parameters().every((p) => p.grad !== null), true, 'backward fills every grad');
  m.zeroGrad();
  t.equal(m.parameters().every((p) => p.grad === null), true, 'zeroGrad drops them');
  const p0 = m.parameters()[0];
  t.equal(m.to('cpu'), m, 'to() returns the module');
  t.equal(m.parameters()[0], p0, 'to(same device) keeps the tensors');
  m.dispose();
  other.dispose();
  t.equal(before[0].isDisposed, true, 'dispose frees the parameters');
});

t.test('MLP gradients (every parameter) match central finite differences', async (t) => {
  // Linear(5, 4) -> Tanh -> Linear(4, 3) -> GELU -> Linear(3, 3), cross-entropy; and a relu MLP.
  for (const act of ['tanh', 'relu'] as const) {
    cg.manualSeed(11);
    const m = new nn.Sequential(new nn.Linear(5, 4), act === 'tanh' ? new nn.Tanh() : new nn.ReLU(), new nn.Linear(4, 3), new nn.GELU(), new nn.Linear(3, 3));
    const x = f32(uniform(6 * 5, 1), [6, 5]);
    const y = cg.tensor([0, 2, 1, 1, 0, 2], { dtype: 'int32' });
    const loss = () => cg.crossEntropy(m.forward(x), y);
    cg.tidy(() => loss().backward());
    for (const [name, p] of m.namedParameters()) {
      const base = Float64Array.from(p.toArray());
      const num = numericGrad(
        (v) =>
          cg.noGrad(() => {
            setValues(p, v);
            return loss().item();
          }),
        base,
        act === 'relu' ? 1e-3 : 1e-2,
      );
      setValues(p, base);
      assertClose(t, p.grad!.toArray(), num, 3e-3, 3e-2, `${act} MLP d/d${name}`);
    }
    m.dispose();
  }
});

t.test('a state dict round-trips through safetensors bit for bit', async (t) => {
  cg.manualSeed(5);
  const m = new nn.Sequential(new nn.Embedding(7, 3), new nn.LayerNorm(3), new nn.Linear(3, 2));
  // Special values too: -0, denormals, infinities, NaN.
  const w = m.stateDict()['2.weight'];
  setValues(w, [-0, 1e-40, Infinity, -Infinity, NaN, 3.5]);
  const file = path.join(tmp, 'sd.safetensors');
  cg.io.saveSafetensors(file, m.stateDict());
  const loaded = cg.io.loadSafetensors(file);
  t.same(Object.keys(loaded), Object.keys(m.stateDict()));
  const fresh = new nn.Sequential(new nn.Embedding(7, 3), new nn.LayerNorm(3), new nn.Linear(3, 2));
  fresh.loadStateDict(loaded);
  for (const [k, p] of fresh.namedParameters()) {
    const a = new Uint32Array(p.toArray().buffer);
    const b = new Uint32Array(m.stateDict()[k].toArray().buffer);
    t.same(Array.from(a), Array.from(b), `${k} bits`);
  }
  Object.values(loaded).forEach((x) => x.dispose());
});

t.test('bad arguments get clear errors', async (t) => {
  t.throws(() => new nn.Linear(-1, 2), { name: 'RangeError', message: 'nn.Linear: inFeatures must be an integer >= 0, got number -1' });
  t.throws(() => new nn.Linear(2.5, 2), { name: 'RangeError', message: 'nn.Linear: inFeatures must be an integer >= 0, got number 2.5' });
  t.throws(() => new nn.Linear('3' as never, 2), { name: 'TypeError', message: "nn.Linear: inFeatures must be an integer >= 0, got the string '3'" });
  t.throws(() => new nn.Linear(2, 3, { bias: 'yes' as never }), { name: 'TypeError', message: "nn.Linear: bias must be a boolean, got the string 'yes'" });
  t.throws(() => new nn.Linear(2, 3, { bais: false } as never), { name: 'TypeError', message: "nn.Linear: unknown option 'bais' (expected one of bias, device)" });
  t.throws(() => new nn.Dropout(1.5), { name: 'RangeError', message: 'nn.Dropout: p must be in [0, 1], got 1.5' });
  t.throws(() => new nn.LayerNorm(0), { name: 'RangeError', message: 'nn.LayerNorm: normalizedShape must be an integer >= 1, got number 0' });
  t.throws(() => new nn.Embedding(0, 3), { name: 'RangeError', message: 'nn.Embedding: numEmbeddings must be an integer >= 1, got number 0' });
  t.throws(() => new nn.Sequential(new nn.ReLU(), {} as never), { name: 'TypeError', message: 'nn.Sequential: argument 1 must be an nn.Module, got an object (Object)' });
  const l = new nn.Linear(4, 3);
  t.throws(() => l.forward(cg.zeros([2, 5])), { name: 'RangeError', message: 'nn.Linear.forward: input has shape [2, 5] but the layer takes (..., 4) (weight [3, 4])' });
  t.throws(() => l.forward([1, 2] as never), { name: 'TypeError', message: 'nn.Linear.forward: input must be a Tensor, got an array' });
  t.throws(() => new nn.Embedding(3, 2).forward(cg.zeros([2])), { name: 'TypeError', message: 'nn.Embedding.forward: indices must be int32, got shape [2], float32, cpu' });
  t.throws(() => l.loadStateDict(null as never), { name: 'TypeError', message: 'Linear.loadStateDict: dict must be an object of tensors, got null' });
  t.throws(() => l.to('tpu' as never), { name: 'TypeError', message: "Linear.to: unknown device the string 'tpu' (expected 'cpu', 'cuda' or 'cuda:N')" });
  l.dispose();
});

t.test('every device: Module.to, gradients, an Adam step and the state dict agree with the CPU', async (t) => {
  for (const dev of testDevices().filter((d) => d !== 'cpu')) {
    cg.manualSeed(21);
    const cpu = new nn.Sequential(new nn.Linear(6, 5), new nn.GELU(), new nn.LayerNorm(5), new nn.Linear(5, 3));
    const gpu = new nn.Sequential(new nn.Linear(6, 5), new nn.GELU(), new nn.LayerNorm(5), new nn.Linear(5, 3));
    gpu.loadStateDict(cpu.stateDict());
    gpu.to(dev);
    t.equal(gpu.parameters().every((p) => p.device === dev && p.requiresGrad && p.isLeaf), true, `parameters on ${dev}`);
    const step = (m: cg.nn.Module, d: cg.Device) => {
      const opt = new cg.optim.Adam(m.parameters(), { lr: 0.01 });
      const x = cg.randn([4, 6], { seed: 5, device: d });
      const y = cg.tensor([0, 1, 2, 1], { dtype: 'int32', device: d });
      const loss = cg.tidy(() => {
        const l = cg.crossEntropy(m.forward(x), y);
        l.backward();
        return l.item();
      });
      const grads = m.parameters().map((p) => p.grad!.toArray());
      opt.step();
      return { loss, grads };
    };
    const a = step(cpu, 'cpu');
    const b = step(gpu, dev);
    t.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss on ${dev}`);
    a.grads.forEach((g, i) => assertClose(t, b.grads[i], g, 1e-5, 1e-4, `${dev} grad ${i}`));
    cpu.parameters().forEach((p, i) => assertClose(t, gpu.parameters()[i].toArray(), p.toArray(), 1e-5, 1e-4, `${dev} param ${i} after an Adam step`));
    const file = path.join(tmp, `sd-${dev}.safetensors`);
    cg.io.saveSafetensors(file, gpu.stateDict());
    const back = cg.io.loadSafetensors(file, { device: dev });
    t.equal(Object.values(back).every((v) => v.device === dev), true, 'loaded onto the device');
    cpu.loadStateDict(back);
    cpu.parameters().forEach((p, i) => t.same(bitsOf(p), bitsOf(gpu.parameters()[i]), `${dev} -> file -> cpu, param ${i} bit for bit`));
  }
  t.pass('devices: ' + testDevices().join(', '));
});

function bitsOf(x: cg.Tensor): number[] {
  return Array.from(new Uint32Array(Float32Array.from(x.toArray()).buffer));
}
