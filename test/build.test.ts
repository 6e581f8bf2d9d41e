// The addon built here: CUDA kernels compiled whenever nvcc is present, for
// every target architecture (SASS for sm_75/80/86/89/90a, listed as arch 90, and PTX for compute_90),
// read from the fatbinaries embedded in the binary; cudart linked statically.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as cg from '../lib/index';
import { root } from './helpers';

const addon = path.join(root, 'build', 'Release', 'cudagrad.node');

function nvccPresent(): boolean {
  if (fs.existsSync('/usr/local/cuda/bin/nvcc')) return true;
  return spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

// Every (kind, arch) in the fatbinaries of `file`: kind 'sass' (ELF) or 'ptx'.
function fatbinEntries(file: string): Set<string> {
  const buf = fs.readFileSync(file);
  const found = new Set<string>();
  const magic = Buffer.from([0x50, 0xed, 0x55, 0xba]);
  for (let i = buf.indexOf(magic); i >= 0; i = buf.indexOf(magic, i + 4)) {
    const headerSize = buf.readUInt16LE(i + 6);
    const fatSize = Number(buf.readBigUInt64LE(i + 8));
    if (headerSize !== 16 || i + headerSize + fatSize > buf.length) continue;
    for (let p = i + headerSize; p < i + headerSize + fatSize; ) {
      const kind = buf.readUInt16LE(p);
      const entryHeader = buf.readUInt32LE(p + 4);
      const size = Number(buf.readBigUInt64LE(p + 8));
      const arch = buf.readUInt32LE(p + 28);
      if (entryHeader === 0 || (kind !== 1 && kind !== 2)) break;
      found.add(`${kind === 2 ? 'sass' : 'ptx'}_${arch}`);
      p += entryHeader + size;
    }
  }
  return found;
}

t.test('CUDA kernels are compiled whenever nvcc is present', async (t) => {
  if (!nvccPresent()) {
    t.equal(cg.cuda.compiled(), false, 'no nvcc here: CPU-only addon');
    return;
  }
  t.equal(cg.cuda.compiled(), true, 'nvcc present: the addon has CUDA kernels');
  const entries = fatbinEntries(addon);
  const narrowed = process.env.CUDAGRAD_CUDA_ARCHS;
  const want = narrowed
    ? narrowed.split(';').map((a) => `sass_${parseInt(a, 10)}`)
    : ['sass_75', 'sass_80', 'sass_86', 'sass_89', 'sass_90', 'ptx_90'];
  for (const w of want) t.ok(entries.has(w), `${w} in the binary (found ${[...entries].sort().join(', ')})`);
});

t.test('the addon needs no CUDA shared library (cudart is static)', async (t) => {
  const r = spawnSync('ldd', [addon], { encoding: 'utf8' });
  t.equal(r.status, 0, 'ldd ran', { output: r.stderr });
  t.notMatch(r.stdout, /libcudart|libcuda\.so|not found/);
});
