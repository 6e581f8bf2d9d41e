// devices(), the cuda namespace, the default device and the environment
// overrides (each checked in a fresh process).
import t from 'tap';

import * as cg from '../lib/index';
import { runNode } from './helpers';

t.test('devices() lists the CPU with threads and SIMD level, then each GPU', async (t) => {
  const list = cg.devices();
  const cpu = list[0];
  t.equal(cpu.type, 'cpu');
  if (cpu.type !== 'cpu') return;
  t.ok(cpu.threads >= 1);
  t.equal(cpu.threads, cg.getNumThreads());
  t.match(cpu.simd, /^(scalar|avx2|avx512)$/);
  t.match(cpu.simdDetected, /^(scalar|avx2|avx512)$/);
  const gpus = list.filter((d) => d.type === 'cuda');
  t.equal(gpus.length, cg.cuda.deviceCount());
  for (const g of gpus) {
    if (g.type !== 'cuda') continue;
    t.match(g.computeCapability, /^\d+\.\d$/);
    t.ok(g.totalMemory > 0 && g.multiprocessors > 0 && g.name.length > 0);
  }
});

t.test('cuda.available() and the default device agree', async (t) => {
  t.equal(typeof cg.cuda.compiled(), 'boolean');
  if (cg.cuda.available()) {
    t.equal(cg.cuda.reason(), '');
    t.ok(cg.cuda.deviceCount() >= 1);
    t.equal(cg.defaultDevice(), process.env.CUDAGRAD_DEVICE === 'cpu' ? 'cpu' : 'cuda');
  } else {
    t.ok(cg.cuda.reason().length > 0, `reason: ${cg.cuda.reason()}`);
    t.equal(cg.cuda.deviceCount(), 0);
    t.equal(cg.defaultDevice(), 'cpu');
    t.equal(cg.zeros([1]).device, 'cpu');
  }
});

t.test('cuda.hostSyncs() counts the waits for the GPU: reads and synchronize, not launches', async (t) => {
  const before = cg.cuda.hostSyncs();
  cg.tensor([1, 2]).add(1).toArray(); // CPU work never counts
  t.equal(cg.cuda.hostSyncs(), before);
  if (!cg.cuda.available()) {
    t.equal(before, 0, `0 without a GPU (${cg.cuda.reason()})`);
    return;
  }
  const x = cg.tensor([1, 2, 3], { device: 'cuda' }).mul(2); // upload and launch
  t.equal(cg.cuda.hostSyncs(), before, 'an upload and a kernel launch: none');
  t.same(Array.from(x.toArray()), [2, 4, 6]);
  t.equal(cg.cuda.hostSyncs(), before + 1, 'a read: one');
  cg.cuda.synchronize();
  t.equal(cg.cuda.hostSyncs(), before + 2, 'synchronize: one');
});

t.test('setDefaultDevice changes where tensors are made', async (t) => {
  const before = cg.defaultDevice();
  cg.setDefaultDevice('cpu');
  t.equal(cg.ones([2]).device, 'cpu');
  cg.setDefaultDevice(before);
});

t.test('CUDAGRAD_DEVICE=cuda without a GPU fails at load with the reason', async (t) => {
  if (cg.cuda.available()) {
    const r = runNode("console.log(cg.defaultDevice(), cg.zeros([1]).device)", { CUDAGRAD_DEVICE: 'cuda' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), 'cuda cuda');
    return;
  }
  const r = runNode('console.log("loaded")', { CUDAGRAD_DEVICE: 'cuda' });
  t.not(r.status, 0, 'the process fails');
  t.notMatch(r.stdout, /loaded/);
  t.match(r.stderr, `cudagrad: CUDAGRAD_DEVICE=cuda but CUDA is not available: ${cg.cuda.reason()}`);
  t.notMatch(r.stderr, /Segmentation fault|Aborted|core dumped/);
});

t.test('CUDAGRAD_DEVICE=cpu forces the CPU; a bad value is named', async (t) => {
  const r = runNode("console.log(cg.defaultDevice(), cg.zeros([1]).device)", { CUDAGRAD_DEVICE: 'cpu' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'cpu cpu');
  const bad = runNode('', { CUDAGRAD_DEVICE: 'gpu' });
  t.not(bad.status, 0);
  t.match(bad.stderr, "CUDAGRAD_DEVICE: unknown device the string 'gpu'");
});

t.test('CUDAGRAD_SIMD forces a level; more than the CPU has is refused', async (t) => {
  const scalar = runNode("const d = cg.devices()[0]; console.log(d.simd, d.simdDetected)", { CUDAGRAD_SIMD: 'scalar' });
  t.equal(scalar.status, 0, scalar.stderr);
  const [level, detected] = scalar.stdout.trim().split(' ');
  t.equal(level, 'scalar');
  const bad = runNode('', { CUDAGRAD_SIMD: 'sse9' });
  t.not(bad.status, 0);
  t.match(bad.stderr, "CUDAGRAD_SIMD: unknown SIMD level 'sse9'");
  if (detected !== 'avx512') {
    const over = runNode('', { CUDAGRAD_SIMD: 'avx512' });
    t.not(over.status, 0);
    t.match(over.stderr, `CUDAGRAD_SIMD=avx512: this CPU supports at most ${detected}`);
  }
  t.throws(() => cg.setSimdLevel('neon' as cg.SimdLevel), { name: 'TypeError', message: /cudagrad.setSimdLevel: unknown SIMD level 'neon'/ });
});

t.test('CUDAGRAD_NUM_THREADS sizes the pool; setNumThreads resizes it', async (t) => {
  const r = runNode('console.log(cg.getNumThreads()); cg.setNumThreads(4); console.log(cg.getNumThreads(), cg.zeros([1 << 20]).toArray().length)', { CUDAGRAD_NUM_THREADS: '3' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), '3\n4 1048576');
  const bad = runNode('', { CUDAGRAD_NUM_THREADS: 'many' });
  t.not(bad.status, 0);
  t.match(bad.stderr, "CUDAGRAD_NUM_THREADS='many' is not a thread count between 1 and 1024");
});
