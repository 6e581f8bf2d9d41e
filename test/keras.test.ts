// The Keras-style API: building, compile/fit/evaluate/predict on the shipped
// MNIST digits (a few steps lower the loss; memory stays flat per step), the
// fused softmax + cross-entropy, callbacks (onBatchEnd, onEpochEnd, early
// stopping, best-only checkpoints), the progress output, save/load round
// trips, resuming from a checkpoint bit for bit, and clear errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';
import { perStep } from '../lib/keras/progress';
import { assertClose, testDevices } from './oracle';

const k = cg.keras;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-keras-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const mnist = cg.data.loadMnist();
// A small slice for quick tests: 640 training digits, 320 held out.
const x = mnist.train.x.slice(0, 0, 640);
const y = mnist.train.y.slice(0, 0, 640);
const xv = mnist.test.x.slice(0, 0, 320);
const yv = mnist.test.y.slice(0, 0, 320);
// The full sets are not used again: free them now rather than at some garbage
// collection, which would change memory() in the middle of a test that counts it.
[mnist.train.x, mnist.train.y, mnist.test.x, mnist.test.y].forEach((u) => u.dispose());

function dnn(opts: { compile?: boolean; optimizer?: cg.keras.CompileConfig['optimizer'] } = {}): cg.keras.Sequential {
  const m = k.sequential([k.dense({ units: 32, activation: 'relu', inputShape: [784] }), k.dense({ units: 10, activation: 'softmax' })]);
  if (opts.compile !== false) m.compile({ optimizer: opts.optimizer ?? 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

const sink = () => {
  const out: string[] = [];
  return { out, stream: { write: (s: string) => out.push(s), isTTY: false } };
};

t.test('building: layer names, PyTorch layout, glorot-uniform init, summary', async (t) => {
  cg.manualSeed(0);
  const m = dnn({ compile: false });
  t.same(m.inputShape, [784]);
  t.same(m.outputShape, [10]);
  t.same(Object.keys(m.stateDict()), ['dense.weight', 'dense.bias', 'dense_1.weight', 'dense_1.bias']);
  t.same(m.stateDict()['dense.weight'].shape, [32, 784], 'weight (units, in)');
  const lim = Math.sqrt(6 / (784 + 32));
  t.ok(m.stateDict()['dense.weight'].toArray().every((v) => Math.abs(v) <= lim), 'glorot-uniform bound');
  t.ok(m.stateDict()['dense.bias'].toArray().every((v) => v === 0), 'zero bias');
  t.match(m.summary(), /dense \(Dense\)\s+\[None, 32\]\s+25120/);
  t.match(m.summary(), /Total params: 25450/);
  const lazy = k.sequential([k.flatten(), k.dense({ units: 4 })]);
  t.equal(lazy.built, false, 'no inputShape: built by the first data');
  const probe = cg.zeros([2, 3, 5]);
  const pred = lazy.predict(probe);
  t.same(pred.shape, [2, 4]);
  t.same(lazy.inputShape, [3, 5]);
  t.same(lazy.stateDict()['dense.weight'].shape, [4, 15]);
  // Freed now, not by a later garbage collection (the next test counts live tensors per step).
  [probe, pred].forEach((u) => u.dispose());
  m.dispose();
  lazy.dispose();
});

t.test('fit lowers the loss; memory is flat per step; history, evaluate, predict', async (t) => {
  cg.manualSeed(1);
  const m = dnn();
  const counts: number[] = [];
  const before = m.evaluate(x, y).loss;
  const h = await m.fit(x, y, {
    epochs: 3,
    batchSize: 32,
    verbose: 0,
    validationData: [xv, yv],
    callbacks: { onBatchEnd: () => void counts.push(cg.memory().numTensors) },
  });
  t.same(Object.keys(h.history), ['loss', 'accuracy', 'val_loss', 'val_accuracy']);
  t.same(h.epoch, [0, 1, 2]);
  t.same(h.params, { epochs: 3, steps: 20, samples: 640, batchSize: 32 });
  const l = h.history.loss;
  t.ok(l[0] < before && l[2] < l[0], `loss falls: ${before.toFixed(3)} -> ${l.map((v) => v.toFixed(3)).join(' -> ')}`);
  t.ok(h.history.val_accuracy[2] > 0.6, `held-out accuracy ${h.history.val_accuracy[2]}`);
  t.equal(counts.length, 60);
  t.ok(counts.every((c) => c === counts[0]), `memory().numTensors after every step equals after the first (${counts[0]})`);
  const ev = m.evaluate(xv, yv);
  t.equal(ev.loss, h.history.val_loss[2], 'evaluate = the last val_loss');
  const p = m.predict(xv);
  t.same(p.shape, [320, 10]);
  const probs = p.toArray();
  t.ok(Array.from({ length: 320 }, (_, i) => Array.from(probs.subarray(i * 10, i * 10 + 10)).reduce((a, b) => a + b, 0)).every((s) => Math.abs(s - 1) < 1e-5), 'predict applies the softmax');
  // The fused loss is cross-entropy on the logits.
  const ce = cg.noGrad(() => cg.crossEntropy(m.logits(xv), yv).item());
  t.ok(Math.abs(ce - ev.loss) < 1e-5, 'loss = crossEntropy(logits)');
  const acc = Array.from(cg.argmax(p, 1).toArray()).filter((v, i) => v === yv.toArray()[i]).length / 320;
  t.equal(ev.accuracy, acc);
  const hs = await m.fit(x, y, { epochs: 1, verbose: 0, validationSplit: 0.25 });
  t.same(hs.params.samples, 480, 'validationSplit holds out the last quarter');
  t.ok('val_loss' in hs.history);
  m.dispose();
});

t.test('callbacks: onEpochEnd/onBatchEnd, earlyStopping (restoring the best weights), best-only modelCheckpoint', async (t) => {
  cg.manualSeed(2);
  const m = dnn({ optimizer: new cg.optim.SGD([], { lr: 0 }) }); // lr 0: val_loss never improves after epoch 0
  const seen: string[] = [];
  const es = k.earlyStopping({ monitor: 'val_loss', patience: 1 });
  const h = await m.fit(x, y, {
    epochs: 10,
    batchSize: 128,
    verbose: 0,
    validationData: [xv, yv],
    callbacks: [es, { onEpochEnd: (e, logs) => void seen.push(`${e}:${Object.keys(logs).join(',')}`), onBatchEnd: (b) => void seen.push(`b${b}`) }],
  });
  t.same(h.epoch, [0, 1], 'stopped after patience 1');
  t.equal(es.stoppedEpoch, 1);
  t.same(seen.slice(0, 6), ['b0', 'b1', 'b2', 'b3', 'b4', '0:loss,accuracy,val_loss,val_accuracy']);

  // restoreBestWeights: the weights of the best epoch come back.
  const m2 = dnn({ optimizer: new cg.optim.SGD([], { lr: 5 }) }); // big steps: val_loss goes up and down
  const es2 = k.earlyStopping({ monitor: 'val_accuracy', patience: 2, restoreBestWeights: true });
  const ckDir = path.join(tmp, 'best');
  const mc = k.modelCheckpoint({ path: ckDir, monitor: 'val_accuracy' });
  const h2 = await m2.fit(x, y, { epochs: 6, batchSize: 64, verbose: 0, validationData: [xv, yv], callbacks: [es2, mc] });
  const accs = h2.history.val_accuracy;
  const best = Math.max(...accs);
  t.equal(es2.best, best);
  t.equal(m2.evaluate(xv, yv).accuracy, best, 'restored weights give the best val_accuracy');
  const improved = accs.map((a, i) => i).filter((i) => accs[i] > Math.max(-Infinity, ...accs.slice(0, i)));
  t.same(mc.saved, improved, 'checkpoint saved only on improvement');
  t.equal(k.loadModel(ckDir).evaluate(xv, yv).accuracy, best, 'the saved model is the best one');
  await t.rejects(m.fit(x, y, { epochs: 1, verbose: 0, callbacks: [k.earlyStopping()] }), {
    name: 'RangeError',
    message: "keras.earlyStopping: 'val_loss' is not in the epoch logs (available: loss, accuracy); pass validationData or validationSplit to fit, or monitor 'loss'",
  });
  t.throws(() => k.earlyStopping({ mode: 'up' as never }), { name: 'TypeError', message: "keras.earlyStopping: mode must be 'auto', 'min' or 'max', got the string 'up'" });
});

t.test('progress output: a bar on a terminal, plain lines elsewhere, nothing at verbose 0', async (t) => {
  const tty: string[] = [];
  const p = new k.Progress(1, { write: (s: string) => void tty.push(s), isTTY: true, columns: 200 });
  p.epochBegin(0, 2, 4);
  p.batchEnd(1, { loss: 1.5, accuracy: 0.25 });
  p.batchEnd(4, { loss: 1.2, accuracy: 0.5 });
  p.epochEnd({ loss: 1.2, accuracy: 0.5, val_loss: 1.1 });
  t.equal(tty[0], 'Epoch 1/2\n');
  t.match(tty[1], /^\r1\/4 \[======>\.{23}\] - ETA: \d+s - loss: 1\.5000 - accuracy: 0\.2500\x1b\[K$/);
  t.match(tty[2], /^\r4\/4 \[={30}\] - ETA: 0s - loss: 1\.2000/);
  // The step time is measured: microseconds on a quiet machine, milliseconds under load (the unit rule itself: below).
  t.match(tty[3], /^\r4\/4 \[={30}\] - \d+s \d+(?:us|ms)\/step - loss: 1\.2000 - accuracy: 0\.5000 - val_loss: 1\.1000\x1b\[K$/);
  t.equal(perStep(0.0004, 4), '100us/step');
  t.equal(perStep(0.0039996, 4), '1000us/step');
  t.equal(perStep(0.004, 4), '1ms/step');
  t.equal(perStep(0.012, 4), '3ms/step');
  t.equal(tty[4], '\n');
  const { out, stream } = sink();
  const m = dnn();
  await m.fit(x, y, { epochs: 2, batchSize: 320, verbose: 1, stream });
  t.equal(out.length, 2, 'one line per epoch off a terminal');
  t.match(out[0], /^Epoch 1\/2 - 2\/2 - \d+s \d+(ms|us)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n$/);
  const quiet = sink();
  await m.fit(x, y, { epochs: 1, batchSize: 320, verbose: 0, stream: quiet.stream });
  t.same(quiet.out, []);
});

t.test("dense activations 'gelu' (tanh approximation) and 'gelu_exact' (erf), fused; saved by name", async (t) => {
  cg.manualSeed(5);
  const xs = cg.randn([6, 9], { seed: 6 });
  for (const [act, approximate] of [['gelu', 'tanh'], ['gelu_exact', 'none']] as const) {
    const m = k.sequential([k.dense({ units: 7, activation: act, inputShape: [9] })]);
    const sd = m.stateDict();
    const want = cg.gelu(cg.linear(xs, sd['dense.weight'], sd['dense.bias']), { approximate });
    t.same(Array.from(m.predict(xs).toArray()), Array.from(want.toArray()), `'${act}' = gelu(linear, { approximate: '${approximate}' })`);
    const dir = path.join(tmp, `dense-${act}`);
    m.save(dir);
    const back = k.loadModel(dir);
    t.equal((back.layers[0] as { activation?: string }).activation, act, 'the activation name survives save / load');
    t.same(Array.from(back.predict(xs).toArray()), Array.from(want.toArray()), 'and the loaded model computes it');
  }
});

t.test('save / loadModel round-trips exactly (and leaves the generator alone)', async (t) => {
  cg.manualSeed(3);
  const m = k.sequential([k.rescaling({ scale: 2, offset: -1, inputShape: [784] }), k.dense({ units: 16, activation: 'tanh' }), k.dropout({ rate: 0.3 }), k.dense({ units: 10, activation: 'softmax' })], { name: 'net' });
  m.compile({ optimizer: new cg.optim.AdamW([], { lr: 0.003 }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  await m.fit(x, y, { epochs: 1, verbose: 0 });
  const dir = path.join(tmp, 'saved');
  m.save(dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  t.same(cfg.layers.map((l: { className: string }) => l.className), ['Rescaling', 'Dense', 'Dropout', 'Dense']);
  t.same(cfg.compile.optimizer, { type: 'AdamW', options: { lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } });
  const rng = cg.getRngState();
  const back = k.loadModel(dir);
  t.same(cg.getRngState(), rng, 'loading draws no random numbers from the default generator');
  t.equal(back.name, 'net');
  t.same(Array.from(back.predict(xv).toArray()), Array.from(m.predict(xv).toArray()), 'identical predictions');
  t.same(back.getConfig(), m.getConfig(), 'identical config');
  t.throws(() => k.loadModel(path.join(tmp, 'nowhere')), { name: 'RangeError', message: /^keras\.loadModel: .*nowhere\/config\.json: cannot read the model config/ });
});

t.test('resuming fit from a checkpoint gives the same losses as an uninterrupted run', async (t) => {
  const make = () => {
    const m = k.sequential([k.dense({ units: 24, activation: 'gelu', inputShape: [784] }), k.dropout({ rate: 0.2 }), k.dense({ units: 10, activation: 'softmax' })]);
    m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    return m;
  };
  cg.manualSeed(4);
  const whole = await make().fit(x, y, { epochs: 4, batchSize: 64, verbose: 0 });
  cg.manualSeed(4);
  const a = make();
  const ck = path.join(tmp, 'resume.safetensors');
  await a.fit(x, y, { epochs: 2, batchSize: 64, verbose: 0, callbacks: { onEpochEnd: (e) => a.saveCheckpoint(ck, { epoch: e + 1, extra: { e } }) } });
  cg.manualSeed(999);
  const b = make();
  const r = b.loadCheckpoint(ck);
  t.same(r, { epoch: 2, extra: { e: 1 } });
  const rest = await b.fit(x, y, { epochs: 4, batchSize: 64, verbose: 0, initialEpoch: r.epoch });
  t.same(rest.epoch, [2, 3]);
  t.same(rest.history.loss, whole.history.loss.slice(2), 'epoch losses identical');
  t.same(rest.history.accuracy, whole.history.accuracy.slice(2));
  const other = k.sequential([k.dense({ units: 10, activation: 'softmax', inputShape: [784] })]);
  other.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
  t.throws(() => other.loadCheckpoint(ck), { name: 'RangeError', message: /state dict does not match the module/ });
});

t.test('clear errors: data, compile, layers', async (t) => {
  const m = dnn();
  await t.rejects(m.fit(x, y.slice(0, 0, 600), { verbose: 0 }), {
    name: 'RangeError',
    message: 'keras.Sequential.fit: x has 640 samples (shape [640, 784]) but y has 600 (shape [600]); the first dims must match',
  });
  await t.rejects(m.fit(x, cg.zeros([640]), { verbose: 0 }), {
    name: 'TypeError',
    message: "keras.Sequential.fit: y must be int32 class indices for sparse_categorical_crossentropy, got shape [640], float32, cpu; make it with cg.tensor(labels, { dtype: 'int32' })",
  });
  await t.rejects(m.fit(x.slice(0, 0, 2), [3, 10], { verbose: 0 }), { name: 'RangeError', message: 'keras.Sequential.fit: y[1] = 10 is not a class index in [0, 10)' });
  await t.rejects(m.fit(cg.zeros([4, 783]), [1, 2, 3, 4], { verbose: 0 }), {
    name: 'RangeError',
    message: 'keras.Sequential.fit: x has shape [4, 783] but the model takes samples of shape [784] (x: [N, 784])',
  });
  await t.rejects(m.fit(cg.zeros([0, 784]), cg.zeros([0], { dtype: 'int32' }), { verbose: 0 }), { name: 'RangeError', message: 'keras.Sequential.fit: x has no samples (shape [0, 784])' });
  await t.rejects(m.fit(x, y, { epochs: -1 }), { name: 'RangeError', message: 'keras.Sequential.fit: epochs must be an integer >= 0, got number -1' });
  await t.rejects(m.fit(x, y, { batchSize: 0 }), { name: 'RangeError', message: 'keras.Sequential.fit: batchSize must be an integer >= 1, got number 0' });
  await t.rejects(m.fit(x, y, { validationSplit: 1 }), { name: 'RangeError', message: 'keras.Sequential.fit: validationSplit must be a number in [0, 1), got number 1' });
  await t.rejects(m.fit(x, y, { epocs: 2 } as never), { name: 'TypeError', message: /^keras\.Sequential\.fit: unknown option 'epocs'/ });
  await t.rejects(m.fit(x, y, { callbacks: [{ onEpochEnd: 5 }] as never }), { name: 'TypeError', message: 'keras.Sequential.fit: callbacks[0].onEpochEnd must be a function, got number 5' });
  await t.rejects(dnn({ compile: false }).fit(x, y), { name: 'RangeError', message: 'keras.Sequential.fit: the model is not compiled: call model.compile({ optimizer, loss, metrics }) first' });
  t.throws(() => m.evaluate(x, cg.zeros([640], { dtype: 'int32' }).reshape(320, 2)), { name: 'RangeError', message: /x has 640 samples .* but y has 320/ });
  t.throws(() => m.compile({ optimizer: 'adam', loss: 'hinge' as never }), {
    name: 'TypeError',
    message: "keras.Sequential.compile: loss must be one of sparse_categorical_crossentropy, mse, mean_squared_error, got the string 'hinge'",
  });
  t.throws(() => m.compile({ optimizer: 'rmsprop' as never, loss: 'mse' }), {
    name: 'TypeError',
    message: "keras.Sequential.compile: optimizer must be 'adam', 'adamw', 'sgd' or an optim.Optimizer, got the string 'rmsprop'",
  });
  t.throws(() => m.compile({ optimizer: 'adam', loss: 'mse', metrics: ['accuracy'] }), {
    name: 'TypeError',
    message: "keras.Sequential.compile: metric 'accuracy' needs loss 'sparse_categorical_crossentropy', got 'mse'",
  });
  t.throws(() => m.compile({ optimizer: new cg.optim.Adam([cg.zeros([1], { requiresGrad: true })]), loss: 'mse' }), {
    name: 'RangeError',
    message: "keras.Sequential.compile: the optimizer holds tensors that are not this model's parameters (make it with model.parameters(), or with [] to attach them)",
  });
  const sig = k.sequential([k.dense({ units: 3, activation: 'sigmoid', inputShape: [2] })]);
  t.throws(() => sig.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' }), {
    name: 'TypeError',
    message: "keras.Sequential.compile: sparse_categorical_crossentropy needs a final softmax (fused with the loss) or linear activation (logits), got 'sigmoid'",
  });
  t.throws(() => k.dense({ units: 0 }), { name: 'RangeError', message: 'keras.dense: units must be an integer >= 1, got number 0' });
  t.throws(() => k.dense({ units: 4, activation: 'swish' as never }), {
    name: 'TypeError',
    message: "keras.dense: unknown activation the string 'swish' (expected relu, gelu, gelu_exact, tanh, sigmoid, softmax, linear)",
  });
  t.throws(() => k.dense({ units: 4, inputShape: [0] }), { name: 'RangeError', message: 'keras.dense: inputShape must be a non-empty array of positive integers, got [0]' });
  t.throws(() => k.sequential([k.dense({ units: 2, inputShape: [3] }), k.dense({ units: 2, inputShape: [2] })]), {
    name: 'RangeError',
    message: "keras.Sequential.add: only the first layer may have an inputShape (layer 1, 'dense_1')",
  });
  t.throws(() => k.sequential([{} as never]), { name: 'TypeError', message: 'keras.Sequential.add: expected a layer (keras.dense(...), keras.flatten(), keras.dropout(...)), got an object (Object)' });
});

t.test('mean squared error regression', async (t) => {
  cg.manualSeed(5);
  const xs = cg.randn([64, 3], { seed: 1 });
  const w = cg.tensor([[1], [-2], [0.5]]);
  const ys = cg.matmul(xs, w).add(0.25); // (64, 1)
  const m = k.sequential([k.dense({ units: 1, inputShape: [3] })]);
  m.compile({ optimizer: new cg.optim.SGD([], { lr: 0.1 }), loss: 'mse' });
  const h = await m.fit(xs, ys, { epochs: 30, batchSize: 16, verbose: 0 });
  t.ok(h.history.loss[29] < 1e-4, `mse ${h.history.loss[29]}`);
  t.ok(Math.abs(m.stateDict()['dense.bias'].item() - 0.25) < 0.01, 'learns the bias');
});

t.test('every device: fit gives the CPU losses (the model built on the default device)', async (t) => {
  const run = async (dev: cg.Device) => {
    const prev = cg.defaultDevice();
    cg.setDefaultDevice(dev);
    try {
      cg.manualSeed(6);
      const m = dnn();
      const h = await m.fit(x.slice(0, 0, 64).to(dev), y.slice(0, 0, 64).to(dev), { epochs: 2, batchSize: 32, verbose: 0 });
      t.equal(m.parameters()[0].device, dev, `parameters on ${dev}`);
      const p = m.predict(xv.slice(0, 0, 8).to(dev));
      return { loss: h.history.loss, pred: p.toArray() };
    } finally {
      cg.setDefaultDevice(prev);
    }
  };
  const ref = await run('cpu');
  for (const dev of testDevices().filter((d) => d !== 'cpu')) {
    const got = await run(dev);
    assertClose(t, got.loss, ref.loss, 1e-4, 1e-4, `${dev}: epoch losses`);
    assertClose(t, got.pred, ref.pred, 1e-4, 1e-3, `${dev}: predictions`);
  }
  t.pass(`devices: ${testDevices().join(', ')}`);
});
