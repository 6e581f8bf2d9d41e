// io: safetensors files (bit-exact round trips, the byte layout of the spec,
// a hand-made file, truncated and corrupt files rejected with errors naming
// the file and the fault), atomic writes that keep the old file on failure,
// and checkpoints that resume a training loop bit for bit.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import * as cg from '../lib/index';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-io-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);
const bits = (x: cg.Tensor) => Array.from(new Uint32Array(x.toArray().buffer.slice(0)));

// A safetensors file from a header object and data bytes, exactly as the spec lays it out.
function handMade(header: unknown, data: Uint8Array, pad = true): Buffer {
  let json = JSON.stringify(header);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([n, Buffer.from(json), data]);
}

t.test('round trip: float32 (special values) and int32, scalars, empty tensors, metadata', async (t) => {
  const f = cg.tensor(new Float32Array([-0, 1e-40, Infinity, -Infinity, NaN, 3.25, -1.5e38, 7]), { shape: [2, 4] });
  const i = cg.tensor(new Int32Array([-2147483648, 2147483647, 0, -1, 5]));
  const dict = { f, i, s: cg.tensor(2.5), e: cg.zeros([0, 3]) };
  cg.io.saveSafetensors(file('a.safetensors'), dict, { note: 'hi', n: '1' });
  const r = cg.io.readSafetensors(file('a.safetensors'));
  t.same(r.metadata, { note: 'hi', n: '1' });
  t.same(Object.keys(r.tensors), ['f', 'i', 's', 'e']);
  for (const [k, v] of Object.entries(dict)) {
    const got = r.tensors[k];
    t.same([got.shape, got.dtype], [v.shape, v.dtype], `${k} shape and dtype`);
    t.same(bits(got), bits(v), `${k} bits`);
  }
  // The layout: 8-byte LE length, space-padded JSON to a multiple of 8, then the data.
  const buf = fs.readFileSync(file('a.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  t.equal(n % 8, 0, 'header padded to 8 bytes');
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  t.same(header.f, { dtype: 'F32', shape: [2, 4], data_offsets: [0, 32] });
  t.same(header.i, { dtype: 'I32', shape: [5], data_offsets: [32, 52] });
  t.same(header.e, { dtype: 'F32', shape: [0, 3], data_offsets: [56, 56] });
  t.equal(buf.length, 8 + n + 56);
  t.equal(buf.readInt32LE(8 + n + 32), -2147483648, 'little-endian data');
});

t.test('reads a hand-made file (unpadded header, tensors stored out of order)', async (t) => {
  const data = Buffer.alloc(20);
  data.writeInt32LE(42, 0); // b: I32 [1] at [0, 4)
  [1, 2, 3, 4].forEach((v, k) => data.writeFloatLE(v, 4 + 4 * k)); // a: F32 [2, 2] at [4, 20)
  const buf = handMade({ a: { dtype: 'F32', shape: [2, 2], data_offsets: [4, 20] }, __metadata__: { format: 'pt' }, b: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, data, false);
  fs.writeFileSync(file('hand.safetensors'), buf);
  const r = cg.io.readSafetensors(file('hand.safetensors'));
  t.same(Array.from(r.tensors.a.toArray()), [1, 2, 3, 4]);
  t.same(r.tensors.a.shape, [2, 2]);
  t.same(Array.from(r.tensors.b.toArray()), [42]);
  t.equal(r.tensors.b.dtype, 'int32');
  t.same(r.metadata, { format: 'pt' });
});

t.test('truncated and corrupt files get clear errors naming the file', async (t) => {
  const good = fs.readFileSync(file('a.safetensors'));
  const n = Number(good.readBigUInt64LE(0));
  const fn = 'cudagrad.io.loadSafetensors';
  const check = (name: string, bytes: Buffer, message: string | RegExp) => {
    const p = file(name);
    fs.writeFileSync(p, bytes);
    t.throws(() => cg.io.loadSafetensors(p), { message: typeof message === 'string' ? `${fn}: ${p}: ${message}` : message }, name);
  };
  check('t0.safetensors', good.subarray(0, 5), 'file is 5 bytes, too short for the 8-byte header length (truncated or not a safetensors file)');
  check('t1.safetensors', good.subarray(0, 8 + n - 3), `truncated: the header length says ${n} bytes but only ${n - 3} bytes follow`);
  check('t2.safetensors', good.subarray(0, good.length - 10), "truncated: tensor 'i' ends at byte 52 of the data but the data is only 46 bytes");
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(1n << 40n, 0);
  check('c0.safetensors', huge, `header length ${1n << 40n} is implausible (more than 100000000 bytes): corrupt or not a safetensors file`);
  const garbled = Buffer.from(good);
  garbled[8] = 0x7b + 1;
  check('c1.safetensors', garbled, /^cudagrad\.io\.loadSafetensors: .*c1\.safetensors: header is not valid JSON \(/);
  const d8 = Buffer.alloc(8);
  check('c2.safetensors', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d8), "tensors 'a' and 'b' overlap (bytes [4, 8) of the data)");
  check('c3.safetensors', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d8), 'bytes [0, 4) of the data belong to no tensor (corrupt offsets)');
  check('c4.safetensors', handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d8), "tensor 'a': shape [3] as F32 is 12 bytes but data_offsets [0, 8] span 8");
  check('c5.safetensors', handMade({ a: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, d8), "tensor 'a' has dtype F16: cudagrad reads only F32, I32 and BF16");
  check('c6.safetensors', handMade({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, d8), "tensor 'a' has dtype Q4: unknown dtype");
  check('c7.safetensors', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, d8), '4 bytes after the last tensor\'s data (corrupt offsets or appended garbage)');
  check('c8.safetensors', handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, d8), "tensor 'a': shape [-1] is not a list of sizes");
  check('c9.safetensors', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, d8), "tensor 'a': data_offsets [4,0] is not [begin, end] with 0 <= begin <= end");
  check('c10.safetensors', handMade([1, 2], d8), 'header is not a JSON object');
  check('c11.safetensors', handMade({ __metadata__: { a: 1 } }, Buffer.alloc(0)), '"__metadata__"["a"] is not a string');
  t.throws(() => cg.io.loadSafetensors(file('missing.safetensors')), { code: 'ENOENT' }, 'a missing file: the fs error');
  const before = cg.memory().numTensors;
  try {
    cg.io.loadSafetensors(file('c7.safetensors'));
  } catch {
    // expected
  }
  t.equal(cg.memory().numTensors, before, 'no tensor left behind by a failed load');
});

t.test('bad save arguments', async (t) => {
  t.throws(() => cg.io.saveSafetensors(file('x'), { a: [1, 2] } as never), { name: 'TypeError', message: "cudagrad.io.saveSafetensors: dict['a'] must be a Tensor, got an array" });
  t.throws(() => cg.io.saveSafetensors(file('x'), { __metadata__: cg.zeros([1]) }), { name: 'TypeError', message: "cudagrad.io.saveSafetensors: invalid tensor name the string '__metadata__'" });
  t.throws(() => cg.io.saveSafetensors(file('x'), {}, { a: 1 } as never), { name: 'TypeError', message: "cudagrad.io.saveSafetensors: metadata['a'] must be a string, got number 1" });
  t.throws(() => cg.io.saveSafetensors('', {}), { name: 'TypeError', message: "cudagrad.io.saveSafetensors: path must be a non-empty string, got the string ''" });
});

t.test('atomic writes: a failed write keeps the previous file and leaves no temporary file', async (t) => {
  const p = file('atomic.bin');
  cg.io.writeFileAtomic(p, [Buffer.from('old contents')]);
  t.equal(fs.readFileSync(p, 'utf8'), 'old contents');
  // A chunk that makes the write fail half way (after the first chunk went to the temporary file).
  const failing = {
    get byteLength(): number {
      throw new Error('disk full (simulated)');
    },
  };
  t.throws(() => cg.io.writeFileAtomic(p, [Buffer.from('new'), failing as never]), { message: 'disk full (simulated)' });
  t.equal(fs.readFileSync(p, 'utf8'), 'old contents', 'old file intact');
  t.same(fs.readdirSync(tmp).filter((f) => f.includes('atomic') && f !== 'atomic.bin'), [], 'no temporary file left');
  cg.io.writeFileAtomic(p, [Buffer.from('new '), Buffer.from('contents')]);
  t.equal(fs.readFileSync(p, 'utf8'), 'new contents');
  cg.io.writeFileAtomic(path.join(tmp, 'sub', 'dir', 'f.bin'), [Buffer.from('x')]);
  t.equal(fs.readFileSync(path.join(tmp, 'sub', 'dir', 'f.bin'), 'utf8'), 'x', 'missing folders are made');
});

t.test("atomic writes: a crashed writer's temporary file is removed by the next write, a live writer's is not", async (t) => {
  const p = file('crash.bin');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
  const stale = file(`.crash.bin.${dead}.x1.tmp`);
  const live = file(`.crash.bin.${process.ppid}.x2.tmp`); // the parent is alive
  const other = file(`.other.bin.${dead}.x3.tmp`); // another target's: not ours to remove
  for (const f of [stale, live, other]) fs.writeFileSync(f, 'half written');
  cg.io.writeFileAtomic(p, [Buffer.from('data')]);
  t.equal(fs.readFileSync(p, 'utf8'), 'data');
  t.notOk(fs.existsSync(stale), 'the dead writer\'s temporary file is gone');
  t.ok(fs.existsSync(live), 'a live process\'s temporary file stays');
  t.ok(fs.existsSync(other), 'another file\'s temporary file stays');
});

// A small nn/optim training loop with dropout (so the RNG state matters): losses of steps [from, to).
function train(model: cg.nn.Module, opt: cg.optim.Optimizer, sched: cg.optim.LRScheduler, from: number, to: number): number[] {
  const x = cg.randn([16, 6], { seed: 99 });
  const y = cg.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 3));
  const losses: number[] = [];
  for (let s = from; s < to; s++) {
    losses.push(
      cg.tidy(() => {
        opt.zeroGrad();
        const loss = cg.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        sched.step();
        return loss.item();
      }),
    );
  }
  x.dispose();
  y.dispose();
  return losses;
}

const mlp = () => new cg.nn.Sequential(new cg.nn.Linear(6, 16), new cg.nn.GELU(), new cg.nn.Dropout(0.2), new cg.nn.Linear(16, 3));

t.test('checkpoints: resuming gives the same losses as an uninterrupted run, bit for bit', async (t) => {
  cg.manualSeed(1);
  const m1 = mlp();
  const o1 = new cg.optim.AdamW(m1.parameters(), { lr: 0.01 });
  const s1 = new cg.optim.CosineWithWarmup(o1, { warmupSteps: 2, totalSteps: 10 });
  const whole = train(m1, o1, s1, 0, 10);

  cg.manualSeed(1);
  const m2 = mlp();
  const o2 = new cg.optim.AdamW(m2.parameters(), { lr: 0.01 });
  const s2 = new cg.optim.CosineWithWarmup(o2, { warmupSteps: 2, totalSteps: 10 });
  const first = train(m2, o2, s2, 0, 4);
  const ck = file('ckpt.safetensors');
  cg.io.saveCheckpoint(ck, { model: m2, optimizer: o2, scheduler: s2, step: 4, extra: { note: 'half way' } });
  cg.manualSeed(12345); // a different state: the checkpoint restores it

  const m3 = mlp(); // different initial weights
  const o3 = new cg.optim.AdamW(m3.parameters(), { lr: 0.5 });
  const s3 = new cg.optim.CosineWithWarmup(o3, { warmupSteps: 2, totalSteps: 10 });
  const info = cg.io.loadCheckpoint(ck, { model: m3, optimizer: o3, scheduler: s3 });
  t.equal(info.step, 4);
  t.same(info.extra, { note: 'half way' });
  const rest = train(m3, o3, s3, 4, 10);
  t.same([...first, ...rest], whole, 'losses of steps 0-9 identical');
  t.same(m3.parameters().map(bits), m1.parameters().map(bits), 'final weights identical');
  t.equal(o3.lr, o1.lr, 'scheduler state restored');

  const plain = file('plain.safetensors');
  cg.io.saveSafetensors(plain, m1.stateDict());
  t.throws(() => cg.io.loadCheckpoint(plain, { model: m3 }), {
    name: 'RangeError',
    message: `cudagrad.io.loadCheckpoint: ${plain}: not a cudagrad checkpoint (no 'cudagrad.checkpoint' metadata)`,
  });
  t.throws(() => cg.io.saveCheckpoint(ck, { model: {} as never }), { name: 'TypeError', message: 'cudagrad.io.saveCheckpoint: model must be an nn.Module, got an object (Object)' });
  [m1, m2, m3].forEach((m) => m.dispose());
  [o1, o2, o3].forEach((o) => o.dispose());
});
