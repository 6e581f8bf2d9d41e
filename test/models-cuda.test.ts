// The three model families train on CUDA: a few optimizer steps of the
// Keras-style DNN, the seq2seq Transformer and the GPT (dropout on: the
// Philox stream is the same on both devices) give the CPU's losses and
// weights; `trainGPT` with --device cuda gives the CPU run's losses; greedy
// generation with the KV cache picks the CPU's tokens. Without a GPU these
// run in npm test's second half on the SIMT emulator (an emulated sm_90), and
// on a real GPU in bench/device-check.sh. A training step adds nothing to
// cg.cuda.hostSyncs() until the loss is read.
// Tolerances: losses 1e-5 + 1e-4 relative, weights after the steps 1e-5 +
// 1e-3 relative (float32 throughout, different reduction orders; CPU vs
// emulated CUDA agree to ~1e-6 here). Adam's eps is 1e-5 in these steps: the
// attention key bias has a gradient that is zero in exact arithmetic (softmax
// ignores a shift shared by all keys), so float noise of ~1e-9 there, which
// differs between devices, would move it by lr * noise / (noise + eps): a
// full lr step with the default eps of 1e-8, 1e-4 lr with 1e-5.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';

import * as cg from '../lib/index';
import { parseTrainGPTArgs } from '../lib/models/gpt/args';
import { GPTAdamW, trainGPT } from '../lib/models/gpt/train';
import { SHAKESPEARE } from '../lib/models/gpt/data';
import { assertClose } from './oracle';


const skip = cg.cuda.available() ? false : `no CUDA device (${cg.cuda.reason()}); these run on the SIMT emulator in npm test's second half and on a GPU in bench/device-check.sh`;
const weightsOf = (m: { parameters(): cg.Tensor[] }) => m.parameters().map((p) => p.toArray() as Float32Array);

type Result = { losses: number[]; weights: Float32Array[] };

async function compare(t: Test, name: string, step: (device: cg.Device) => Result | Promise<Result>): Promise<void> {
  const cpu = await step('cpu');
  const cuda = await step('cuda');
  assertClose(t, cuda.losses, cpu.losses, 1e-5, 1e-4, `${name}: losses on cuda vs cpu`);
  t.equal(cuda.weights.length, cpu.weights.length);
  let worst = 0;
  cpu.weights.forEach((w, i) => {
    const g = cuda.weights[i];
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(g[j] - w[j]) / (1e-5 + 1e-3 * Math.abs(w[j])));
  });
  t.ok(worst <= 1, `${name}: every weight after the steps within 1e-5 + 1e-3 rel (worst ratio to the tolerance ${worst.toFixed(3)})`);
}


t.test('GPT: AdamW steps with dropout on cuda equal the cpu', { skip }, async (t) => {
  await compare(t, 'GPT', (device) => {
    cg.manualSeed(5);
    const m = new cg.models.GPT({ vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0.1 }).to(device);
    const opt = new cg.optim.AdamW(m.parameters(), { lr: 3e-3, weightDecay: 0.1, globalClipNorm: 1, eps: 1e-5 });
    const ids = (k: number) => cg.tensor(Int32Array.from({ length: 3 * 16 }, (_, i) => (i * 7 + k) % 13), { dtype: 'int32', shape: [3, 16], device });
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      cg.tidy(() => {
        const { loss } = m.forward(ids(s), ids(s + 1));
        loss!.backward();
        opt.step();
        opt.zeroGrad();
        losses.push(loss!.item());
      });
    }
    return { losses, weights: weightsOf(m) };
  });
});

t.test('GPT and Seq2Seq training steps on cuda never wait for the GPU until a value is read', { skip }, async (t) => {
  cg.manualSeed(9);
  const dev = 'cuda';
  const ids = (k: number) => cg.tensor(Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 5 + k) % 13), { dtype: 'int32', shape: [2, 16], device: dev });
  const gpt = new cg.models.GPT({ vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0.1 }).to(dev);
  const gptOpt = new GPTAdamW(gpt.parameters(), { lr: 1e-3, weightDecay: 0.1, globalClipNorm: 1 });
  const s2s = new cg.models.Seq2Seq({ srcVocabSize: 13, tgtVocabSize: 13, dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 24, dropout: 0.1, padId: 0, maxLen: 16 }).to(dev);
  const s2sOpt = new cg.optim.Adam(s2s.parameters(), { lr: 1e-3, globalClipNorm: 1 });
  const steps = {
    // batch upload (host to device), forward with dropout, fused cross-entropy, backward, global-norm clip, AdamW
    GPT: (k: number) => cg.tidy(() => {
      const { loss } = gpt.forward(ids(k), ids(k + 1));
      loss!.backward();
      gptOpt.step();
      gptOpt.zeroGrad();
      return loss!;
    }),
    Seq2Seq: (k: number) => cg.tidy(() => {
      const loss = cg.crossEntropy(s2s.forward(ids(k), ids(k + 1)).reshape(32, 13), ids(k + 2).reshape(32), { ignoreIndex: 0 });
      loss.backward();
      s2sOpt.step();
      s2sOpt.zeroGrad();
      return loss;
    }),
  };
  for (const [name, step] of Object.entries(steps)) {
    step(0).dispose(); // the first step creates the optimizer state
    cg.cuda.synchronize();
    const before = cg.cuda.hostSyncs();
    const losses = [1, 2, 3].map(step);
    t.equal(cg.cuda.hostSyncs() - before, 0, `${name}: three training steps, no host sync`);
    const last = losses[2].item();
    t.equal(cg.cuda.hostSyncs() - before, 1, `${name}: reading the loss (${last.toFixed(3)}) is one`);
    losses.forEach((l) => l.dispose());
  }
});

t.test('Keras-style fit on cuda reads values once per epoch, not per batch (no callbacks, verbose 0)', { skip }, async (t) => {
  const before = cg.defaultDevice();
  cg.setDefaultDevice('cuda');
  t.teardown(() => cg.setDefaultDevice(before));
  cg.manualSeed(10);
  const k = cg.keras;
  const m = k.sequential([k.dense({ units: 16, activation: 'relu', inputShape: [20] }), k.dense({ units: 3, activation: 'softmax' })]);
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const x = cg.randn([320, 20], { seed: 11, device: 'cuda' });
  const y = cg.tensor(Int32Array.from({ length: 320 }, (_, i) => i % 3), { device: 'cuda' });
  await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 }); // warm-up (optimizer state)
  const s0 = cg.cuda.hostSyncs();
  const h = await m.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 }); // 2 x 10 batches
  const syncs = cg.cuda.hostSyncs() - s0;
  t.ok(syncs <= 2 + 2 * 2, `${syncs} host syncs for 20 batches: the labels once, then per epoch the shuffle and the logs (not per batch)`);
  t.ok(h.history.loss.every(Number.isFinite) && h.history.accuracy.every((a) => a >= 0 && a <= 1), 'history is read at the epoch ends');
  const c0 = cg.cuda.hostSyncs();
  let batches = 0;
  await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, callbacks: { onBatchEnd: () => void batches++ } });
  t.ok(cg.cuda.hostSyncs() - c0 >= batches, 'with an onBatchEnd callback the logs are read every batch (the user reads them)');
});

t.test('GPT: greedy KV-cache generation on cuda picks the cpu tokens', { skip }, async (t) => {
  const gen = (device: cg.Device) => {
    cg.manualSeed(6);
    const m = new cg.models.GPT({ vocabSize: 13, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 32 }).to(device).eval();
    return m.generate([1, 2, 3], { maxNewTokens: 12, temperature: 0 });
  };
  t.same(gen('cuda'), gen('cpu'));
});

t.test('trainGPT --device cuda gives the cpu run losses', { skip }, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-gpt-cuda-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const text = path.join(tmp, 'text.txt');
  fs.writeFileSync(text, fs.readFileSync(SHAKESPEARE, 'utf8').slice(0, 20000));
  // Every setting given: the GPU defaults (size, lr, min lr, dropout, precision) differ from the CPU's.
  const go = async (device: string, ...more: string[]) => {
    const a = parseTrainGPTArgs(['--device', device, ...more, '--data', text, '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch-size', '4', '--dropout', '0.1', '--lr', '3e-3', '--min-lr', '3e-4', '--warmup', '2', '--steps', '6', '--eval-interval', '3', '--eval-windows', '2', '--verbose', '0', '--sample-tokens', '0', '--out', path.join(tmp, device)], 'cpu');
    if (a === 'help') throw new Error('help');
    return trainGPT(a, () => undefined);
  };
  const cpu = await go('cpu');
  const cuda = await go('cuda', '--precision', 'highest');
  assertClose(t, cuda.losses, cpu.losses, 1e-5, 1e-4, 'training losses (float32 on cuda)');
  assertClose(t, [cuda.valLoss], [cpu.valLoss], 1e-5, 1e-4, 'validation loss (float32 on cuda)');
  // The cuda default, bf16 mixed precision: bf16 operands (8 bits of mantissa) in every matmul and
  // attention, float32 accumulation and weights; over 6 steps of a tiny model the losses stay within 1%.
  t.equal(cg.getMatmulPrecision(), 'highest', 'trainGPT restores the matmul precision');
  const bf16 = await go('cuda');
  assertClose(t, bf16.losses, cpu.losses, 1e-5, 1e-2, 'training losses (bf16 on cuda, the default)');
  t.notSame(bf16.losses, cuda.losses, 'bf16 really ran (other losses than float32)');
});

t.test('Seq2Seq: Adam steps on cuda equal the cpu', { skip }, async (t) => {
  await compare(t, 'Seq2Seq', (device) => {
    cg.manualSeed(7);
    const m = new cg.models.Seq2Seq({ srcVocabSize: 12, tgtVocabSize: 12, dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 24, dropout: 0.1, padId: 0, maxLen: 16 }).to(device);
    const opt = new cg.optim.Adam(m.parameters(), { lr: 3e-3, eps: 1e-5 });
    const src = cg.tensor(Int32Array.from([3, 4, 5, 6, 7, 8, 9, 0]), { dtype: 'int32', shape: [2, 4], device });
    const tgtIn = cg.tensor(Int32Array.from([1, 7, 6, 5, 1, 9, 8, 0]), { dtype: 'int32', shape: [2, 4], device });
    const tgtOut = cg.tensor(Int32Array.from([7, 6, 5, 2, 9, 8, 2, 0]), { dtype: 'int32', device });
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      cg.tidy(() => {
        const logits = m.forward(src, tgtIn);
        const loss = cg.crossEntropy(logits.reshape(8, 12), tgtOut, { ignoreIndex: 0 });
        loss.backward();
        opt.step();
        opt.zeroGrad();
        losses.push(loss.item());
      });
    }
    return { losses, weights: weightsOf(m) };
  });
});

t.test('Keras-style DNN: fit on cuda equals the cpu', { skip }, async (t) => {
  const mnist = cg.data.loadMnist();
  await compare(t, 'DNN', async (device) => {
    const before = cg.defaultDevice();
    cg.setDefaultDevice(device);
    try {
      cg.manualSeed(8);
      const k = cg.keras;
      const m = k.sequential([k.dense({ units: 32, activation: 'relu', inputShape: [784] }), k.dense({ units: 10, activation: 'softmax' })]);
      m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
      const x = mnist.train.x.slice(0, 0, 96).to(device);
      const y = mnist.train.y.slice(0, 0, 96).to(device);
      const losses: number[] = [];
      await m.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0, callbacks: { onBatchEnd: (_b, logs) => void losses.push(logs.loss) } });
      t.equal(m.parameters()[0].device, device, `the DNN's weights live on ${device}`);
      return { losses, weights: weightsOf(m) };
    } finally {
      cg.setDefaultDevice(before);
    }
  });
});
