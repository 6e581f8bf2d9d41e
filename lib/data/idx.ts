// The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed (read with
// zlib): two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16,
// 0x0C int32, 0x0D float32, 0x0E float64), the number of dims, each dim as a
// big-endian uint32, then the values, big-endian. Every size is checked
// against the file, and errors name it.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

import { describe, typeError } from '../errors';

export type IdxArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface Idx {
  shape: number[];
  data: IdxArray;
}

const TYPES: Record<number, [string, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

/** Parses IDX bytes (gzip-compressed or raw); `where` names the source in errors. */
export function parseIdx(bytes: Uint8Array, where = 'IDX data'): Idx {
  const fn = 'cudagrad.data.readIdx';
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new Error(`${fn}: ${where}: gzip data is corrupt or truncated (${(e as Error).message})`);
    }
  }
  const bad = (msg: string) => new Error(`${fn}: ${where}: ${msg}`);
  if (buf.length < 4) throw bad(`${buf.length} bytes, too short for the IDX magic number`);
  if (buf[0] !== 0 || buf[1] !== 0 || !TYPES[buf[2]]) throw bad(`not an IDX file (magic bytes ${[...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  const [type, width] = TYPES[buf[2]];
  const ndim = buf[3];
  const head = 4 + 4 * ndim;
  if (buf.length < head) throw bad(`truncated: ${ndim} dims need a ${head}-byte header, the file has ${buf.length} bytes`);
  const shape = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  const want = head + n * width;
  if (buf.length !== want)
    throw bad(`${buf.length < want ? 'truncated' : 'trailing bytes'}: shape [${shape.join(', ')}] of ${type} needs ${want} bytes, the file has ${buf.length}`);
  const body = buf.subarray(head);
  let data: IdxArray;
  if (width === 1) data = type === 'uint8' ? Uint8Array.from(body) : Int8Array.from(body, (b) => (b << 24) >> 24);
  else {
    const out = type === 'int16' ? new Int16Array(n) : type === 'int32' ? new Int32Array(n) : type === 'float32' ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * width;
      out[i] = type === 'int16' ? body.readInt16BE(o) : type === 'int32' ? body.readInt32BE(o) : type === 'float32' ? body.readFloatBE(o) : body.readDoubleBE(o);
    }
    data = out;
  }
  return { shape, data };
}

/** Reads an IDX file (raw or .gz). */
export function readIdx(file: string): Idx {
  if (typeof file !== 'string' || file === '') throw typeError('cudagrad.data.readIdx', `path must be a non-empty string, got ${describe(file)}`);
  return parseIdx(fs.readFileSync(file), file);
}
