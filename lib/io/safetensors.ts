// The safetensors format (huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON ({name: {dtype, shape, data_offsets:
// [begin, end]}, "__metadata__": {string: string}}, padded with spaces to a
// multiple of 8), then the tensors' bytes, little-endian, offsets relative to
// the end of the header. cudagrad writes and reads F32, I32 and BF16. The reader
// checks every length, offset and size against the file (no overlaps, no
// holes, nothing past the end) and names the file and the fault; writes are
// atomic (see atomic.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';

import { tensor } from '../creation';
import type { Device } from '../device';
import { checkOptions, describe, typeError } from '../errors';
import { DType, Tensor } from '../tensor';
import { writeFileAtomic } from './atomic';

export type Metadata = Record<string, string>;

export interface LoadOptions {
  /** Device for the tensors (default: the default device). */
  device?: Device;
}

const DTYPES: Record<string, DType> = { F32: 'float32', I32: 'int32', BF16: 'bfloat16' };
const CODES: Record<DType, string> = { float32: 'F32', int32: 'I32', bfloat16: 'BF16' };
const WIDTH: Record<DType, number> = { float32: 4, int32: 4, bfloat16: 2 };
const OTHER = ['F64', 'F16', 'I64', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2'];
const MAX_HEADER = 100_000_000;
const littleEndian = os.endianness() === 'LE';

// Typed-array bytes as little-endian (a byte-swapped copy on big-endian hosts).
function leBytes(a: Float32Array | Int32Array | Uint16Array): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (littleEndian) return b;
  const c = Uint8Array.from(b);
  for (let i = 0; i < c.length; i += a.BYTES_PER_ELEMENT) c.subarray(i, i + a.BYTES_PER_ELEMENT).reverse();
  return c;
}

// A tensor's values as they are stored: bfloat16 as its 16-bit patterns (the
// upper halves of the exact float32 values toArray() gives).
function storedValues(t: Tensor): Float32Array | Int32Array | Uint16Array {
  const a = t.toArray();
  if (t.dtype !== 'bfloat16') return a;
  const words = new Uint32Array(a.buffer, a.byteOffset, a.length);
  return Uint16Array.from(words, (w) => w >>> 16);
}

// Stored little-endian bytes (aligned) -> the typed array tensor() takes for `dtype`.
function hostValues(bytes: Uint8Array, dtype: DType): Float32Array | Int32Array {
  const width = WIDTH[dtype];
  const n = bytes.byteLength / width;
  if (bytes.byteOffset % width !== 0 || !littleEndian) {
    const c = Uint8Array.from(bytes);
    if (!littleEndian) for (let i = 0; i < c.length; i += width) c.subarray(i, i + width).reverse();
    bytes = c;
  }
  if (dtype === 'float32') return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  if (dtype === 'int32') return new Int32Array(bytes.buffer, bytes.byteOffset, n);
  const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const words = Uint32Array.from(halves, (h) => h << 16);
  return new Float32Array(words.buffer);
}

function checkDict(fn: string, dict: unknown): [string, Tensor][] {
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw typeError(fn, `dict must be an object of tensors, got ${describe(dict)}`);
  return Object.entries(dict).map(([k, t]) => {
    if (k === '' || k === '__metadata__') throw typeError(fn, `invalid tensor name ${describe(k)}`);
    if (!(t instanceof Tensor)) throw typeError(fn, `dict['${k}'] must be a Tensor, got ${describe(t)}`);
    t.handle(fn);
    return [k, t];
  });
}

/** The file's bytes for `dict` (and string `metadata`), as chunks. */
export function encodeSafetensors(dict: Record<string, Tensor>, metadata?: Metadata): Uint8Array[] {
  const fn = 'cudagrad.io.saveSafetensors';
  const entries = checkDict(fn, dict);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object') throw typeError(fn, `metadata must be an object of strings, got ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw typeError(fn, `metadata['${k}'] must be a string, got ${describe(v)}`);
    header.__metadata__ = metadata;
  }
  const datas: Uint8Array[] = [];
  let off = 0;
  for (const [k, t] of entries) {
    const bytes = leBytes(storedValues(t));
    header[k] = { dtype: CODES[t.dtype], shape: [...t.shape], data_offsets: [off, off + bytes.byteLength] };
    off += bytes.byteLength;
    datas.push(bytes);
  }
  let json = JSON.stringify(header);
  const len = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (len % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(head.byteLength));
  return [n, head, ...datas];
}

/** Writes `dict` to `file` in the safetensors format, atomically; `metadata` goes to "__metadata__". */
export function saveSafetensors(file: string, dict: Record<string, Tensor>, metadata?: Metadata): void {
  const fn = 'cudagrad.io.saveSafetensors';
  if (typeof file !== 'string' || file === '') throw typeError(fn, `path must be a non-empty string, got ${describe(file)}`);
  writeFileAtomic(file, encodeSafetensors(dict, metadata));
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and checks the header of safetensors bytes; `where` names the source in errors. */
function parseHeader(buf: Uint8Array, where: string): { entries: Entry[]; metadata: Metadata; dataStart: number } {
  const bad = (msg: string) => new Error(`${where}: ${msg}`);
  if (buf.byteLength < 8) throw bad(`file is ${buf.byteLength} bytes, too short for the 8-byte header length (truncated or not a safetensors file)`);
  const n = Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE();
  const rest = buf.byteLength - 8;
  if (n > BigInt(MAX_HEADER)) throw bad(`header length ${n} is implausible (more than ${MAX_HEADER} bytes): corrupt or not a safetensors file`);
  if (Number(n) > rest) throw bad(`truncated: the header length says ${n} bytes but only ${rest} bytes follow`);
  const dataStart = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, Number(n)).toString('utf8'));
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');
  const metadata: Metadata = {};
  const entries: Entry[] = [];
  const dataLen = buf.byteLength - dataStart;
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('"__metadata__" is not an object');
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw bad(`"__metadata__"["${k}"] is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw bad(`tensor '${name}': entry is not an object`);
    if (typeof e.dtype !== 'string') throw bad(`tensor '${name}': missing dtype`);
    const dtype = DTYPES[e.dtype];
    if (!dtype) throw bad(`tensor '${name}' has dtype ${e.dtype}: ${OTHER.includes(e.dtype) ? 'cudagrad reads only F32, I32 and BF16' : 'unknown dtype'}`);
    if (!Array.isArray(e.shape) || !e.shape.every(isUint)) throw bad(`tensor '${name}': shape ${JSON.stringify(e.shape)} is not a list of sizes`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isUint) || off[0] > off[1])
      throw bad(`tensor '${name}': data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`);
    const [begin, end] = off as number[];
    const numel = shape.reduce((a, b) => a * b, 1);
    const bytes = numel * WIDTH[dtype];
    if (!Number.isSafeInteger(bytes) || end - begin !== bytes)
      throw bad(`tensor '${name}': shape [${shape.join(', ')}] as ${e.dtype} is ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    if (end > dataLen) throw bad(`truncated: tensor '${name}' ends at byte ${end} of the data but the data is only ${dataLen} bytes`);
    entries.push({ name, dtype, shape, begin, end });
  }
  // The data must be covered exactly: no overlaps, no holes, nothing after the last tensor.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < pos) throw bad(`tensors '${prev!.name}' and '${e.name}' overlap (bytes [${e.begin}, ${Math.min(pos, e.end)}) of the data)`);
    if (e.begin > pos) throw bad(`bytes [${pos}, ${e.begin}) of the data belong to no tensor (corrupt offsets)`);
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) throw bad(`${dataLen - pos} bytes after the last tensor's data (corrupt offsets or appended garbage)`);
  return { entries, metadata, dataStart };
}

/** Tensors and metadata from safetensors bytes; `where` (a file name) prefixes errors. */
export function decodeSafetensors(buf: Uint8Array, where: string, opts: LoadOptions = {}): { tensors: Record<string, Tensor>; metadata: Metadata } {
  const { entries, metadata, dataStart } = parseHeader(buf, where);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const e of entries) {
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset + dataStart + e.begin, e.end - e.begin);
      tensors[e.name] = tensor(hostValues(bytes, e.dtype), { shape: e.shape, dtype: e.dtype, device: opts.device });
    }
  } catch (err) {
    Object.values(tensors).forEach((t) => t.dispose());
    throw err;
  }
  return { tensors, metadata };
}

/** Tensors and "__metadata__" of a safetensors file. */
export function readSafetensors(file: string, opts: LoadOptions = {}): { tensors: Record<string, Tensor>; metadata: Metadata } {
  const fn = 'cudagrad.io.loadSafetensors';
  if (typeof file !== 'string' || file === '') throw typeError(fn, `path must be a non-empty string, got ${describe(file)}`);
  const o = checkOptions(fn, opts, ['device']) as LoadOptions;
  return decodeSafetensors(fs.readFileSync(file), `${fn}: ${file}`, o);
}

/** name -> Tensor from a safetensors file (F32 -> float32, I32 -> int32, BF16 -> bfloat16). */
export function loadSafetensors(file: string, opts: LoadOptions = {}): Record<string, Tensor> {
  return readSafetensors(file, opts).tensors;
}
