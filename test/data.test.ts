// data: the IDX reader (every type, raw and gzip, big-endian, bad files), the
// shipped MNIST digits and their 8,000 / 2,000 split, folders with train and
// test files, and the package shipping data/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import t from 'tap';

import * as cg from '../lib/index';
import { root } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-data-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

// IDX bytes: type code, dims, values written big-endian with `put`.
function idx(type: number, dims: number[], width: number, values: number[], put: (b: Buffer, v: number, o: number) => void): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length + width * values.length);
  b[2] = type;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  values.forEach((v, i) => put(b, v, 4 + 4 * dims.length + width * i));
  return b;
}

t.test('IDX: every element type, raw and gzip', async (t) => {
  const u8 = idx(0x08, [2, 3], 1, [0, 1, 2, 253, 254, 255], (b, v, o) => b.writeUInt8(v, o));
  for (const bytes of [u8, zlib.gzipSync(u8)]) {
    const r = cg.data.parseIdx(bytes);
    t.same(r.shape, [2, 3]);
    t.ok(r.data instanceof Uint8Array);
    t.same(Array.from(r.data), [0, 1, 2, 253, 254, 255]);
  }
  t.same(Array.from(cg.data.parseIdx(idx(0x09, [2], 1, [-128, 127], (b, v, o) => b.writeInt8(v, o))).data), [-128, 127]);
  t.same(Array.from(cg.data.parseIdx(idx(0x0b, [2], 2, [-300, 300], (b, v, o) => b.writeInt16BE(v, o))).data), [-300, 300]);
  t.same(Array.from(cg.data.parseIdx(idx(0x0c, [1, 2], 4, [-70000, 70000], (b, v, o) => b.writeInt32BE(v, o))).data), [-70000, 70000]);
  t.same(Array.from(cg.data.parseIdx(idx(0x0d, [1], 4, [1.5], (b, v, o) => b.writeFloatBE(v, o))).data), [1.5]);
  t.same(Array.from(cg.data.parseIdx(idx(0x0e, [1], 8, [0.1], (b, v, o) => b.writeDoubleBE(v, o))).data), [0.1]);
  const fn = 'cudagrad.data.readIdx';
  t.throws(() => cg.data.parseIdx(u8.subarray(0, 14), 'x.idx'), { message: `${fn}: x.idx: truncated: shape [2, 3] of uint8 needs 18 bytes, the file has 14` });
  t.throws(() => cg.data.parseIdx(Buffer.concat([u8, Buffer.from([1])]), 'x.idx'), { message: `${fn}: x.idx: trailing bytes: shape [2, 3] of uint8 needs 18 bytes, the file has 19` });
  t.throws(() => cg.data.parseIdx(Buffer.from([1, 2, 3, 4, 5]), 'x.idx'), { message: `${fn}: x.idx: not an IDX file (magic bytes 01 02 03 04)` });
  t.throws(() => cg.data.parseIdx(zlib.gzipSync(u8).subarray(0, 15), 'x.gz'), { message: /^cudagrad\.data\.readIdx: x\.gz: gzip data is corrupt or truncated/ });
});

t.test('the shipped MNIST digits: 8,000 train / 2,000 held out', async (t) => {
  const d = cg.data.loadMnist();
  t.equal(d.description, 'mnist t10k: 8000 train / 2000 held out');
  t.same([d.train.x.shape, d.train.y.shape, d.test.x.shape, d.test.y.shape], [[8000, 784], [8000], [2000, 784], [2000]]);
  t.equal(d.train.y.dtype, 'int32');
  const px = d.test.x.toArray();
  t.ok(px.every((v) => v >= 0 && v <= 1) && px.some((v) => v === 1), 'pixels in [0, 1]');
  const labels = Array.from(d.train.y.toArray());
  const counts = Array.from({ length: 10 }, (_, c) => labels.filter((v) => v === c).length);
  t.ok(counts.every((c) => c > 600 && c < 1000), `every digit present (${counts.join(' ')})`);
  t.same(Array.from(d.train.y.toArray().subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9], 'the first t10k labels');
  t.same(cg.data.loadMnist({ holdOut: 500 }).train.x.shape, [9500, 784]);
  t.throws(() => cg.data.loadMnist({ holdOut: 10000 }), { name: 'RangeError', message: 'cudagrad.data.loadMnist: holdOut must be an integer in [1, 10000), got number 10000' });
  t.throws(() => cg.data.loadMnist({ data: path.join(tmp, 'none') }), { name: 'RangeError', message: `cudagrad.data.loadMnist: dataset folder ${path.join(tmp, 'none')} does not exist` });
});

t.test('a folder with train-* and t10k-* files (raw and gzip mixed)', async (t) => {
  const dir = path.join(tmp, 'mini');
  fs.mkdirSync(dir);
  const images = (n: number) => idx(0x08, [n, 2, 2], 1, Array.from({ length: 4 * n }, (_, i) => (i * 37) % 256), (b, v, o) => b.writeUInt8(v, o));
  const labels = (n: number) => idx(0x08, [n], 1, Array.from({ length: n }, (_, i) => i % 10), (b, v, o) => b.writeUInt8(v, o));
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), images(6));
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(labels(6)));
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), zlib.gzipSync(images(3)));
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), labels(3));
  const d = cg.data.loadMnist({ data: dir });
  t.equal(d.description, 'mini: 6 train / 3 test');
  t.same(d.train.x.shape, [6, 4]);
  t.equal(d.train.x.toArray()[1], Math.fround(37 / 255));
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), labels(2));
  t.throws(() => cg.data.loadMnist({ data: dir }), { message: /t10k-images-idx3-ubyte\.gz has 3 images but .*t10k-labels-idx1-ubyte has 2 labels/ });
});

t.test('the package ships data/mnist', async (t) => {
  // In the GPU machine's bundle (no npm there), packaging is checked where the package is built.
  if (process.env.CUDAGRAD_TEST_PKG) return void t.pass('packaging not checked in the device bundle');
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  t.equal(r.status, 0, 'npm pack --dry-run');
  const files = (JSON.parse(r.stdout)[0].files as { path: string }[]).map((f) => f.path);
  t.ok(files.includes('data/mnist/t10k-images-idx3-ubyte.gz') && files.includes('data/mnist/t10k-labels-idx1-ubyte.gz'), 'both IDX files in the tarball');
});
