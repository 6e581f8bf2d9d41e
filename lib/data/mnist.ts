// MNIST-format datasets: the 10,000 MNIST test digits shipped in the package
// (data/mnist, split 8,000 train / 2,000 held out), Fashion-MNIST from
// Debian's dataset-fashion-mnist package (60,000 train / 10,000 test), or any
// folder of IDX files (train-* and t10k-*; t10k-* alone is split as above).
// Images become float32 (N, rows * cols) in [0, 1]; labels int32 (N).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { tensor } from '../creation';
import type { Device } from '../device';
import { checkOptions, describe, rangeError, typeError } from '../errors';
import { packageRoot } from '../native';
import { Tensor } from '../tensor';
import { readIdx } from './idx';

export interface Split {
  /** float32 (N, rows * cols), pixel / 255. */
  x: Tensor;
  /** int32 (N) class indices. */
  y: Tensor;
}

export interface MnistData {
  train: Split;
  /** The test set, or the held-out part of t10k when only it is present. */
  test: Split;
  /** The folder read. */
  dir: string;
  /** e.g. 'mnist t10k: 8000 train / 2000 held out'. */
  description: string;
}

export interface MnistOptions {
  /** 'mnist' (the shipped digits, default), 'fashion' (Debian's package) or a folder of IDX files. */
  data?: string;
  /** With t10k only: how many of the last images are held out (default 2000). */
  holdOut?: number;
  device?: Device;
}

/** Where Debian's dataset-fashion-mnist package puts the files (dpkg -L dataset-fashion-mnist). */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST's folder: FASHION_MNIST_DIR, else wherever `dpkg -L dataset-fashion-mnist` lists the files. */
export function fashionMnistDir(): string {
  if (fs.existsSync(FASHION_MNIST_DIR)) return FASHION_MNIST_DIR;
  const r = spawnSync('dpkg', ['-L', 'dataset-fashion-mnist'], { encoding: 'utf8' });
  const hit = r.status === 0 ? r.stdout.split('\n').find((l) => /train-images-idx3-ubyte/.test(l)) : undefined;
  return hit ? path.dirname(hit) : FASHION_MNIST_DIR;
}

/** The shipped MNIST digits (data/mnist in the package; a compiled copy of lib/ elsewhere looks in the folders above). */
export function shippedMnistDir(): string {
  const at = (d: string) => path.join(d, 'data', 'mnist');
  for (let d = packageRoot, i = 0; i < 3; i++, d = path.dirname(d)) if (fs.existsSync(at(d))) return at(d);
  return at(packageRoot);
}

function find(dir: string, prefix: 'train' | 't10k', kind: 'images' | 'labels'): string | null {
  const d = kind === 'images' ? 'idx3' : 'idx1';
  for (const name of [`${prefix}-${kind}-${d}-ubyte`, `${prefix}-${kind}.${d}-ubyte`]) {
    for (const f of [name, `${name}.gz`]) if (fs.existsSync(path.join(dir, f))) return path.join(dir, f);
  }
  return null;
}

/** Images (N, rows * cols) / 255 and labels of one IDX pair, checked to agree. */
export function readIdxPair(imagesFile: string, labelsFile: string): { images: Float32Array; labels: Int32Array; n: number; features: number } {
  const fn = 'cudagrad.data.readIdxPair';
  const im = readIdx(imagesFile);
  const lb = readIdx(labelsFile);
  if (im.shape.length !== 3 || !(im.data instanceof Uint8Array)) throw rangeError(fn, `${imagesFile}: expected uint8 images (N, rows, cols), got shape [${im.shape.join(', ')}]`);
  if (lb.shape.length !== 1 || !(lb.data instanceof Uint8Array)) throw rangeError(fn, `${labelsFile}: expected uint8 labels (N), got shape [${lb.shape.join(', ')}]`);
  if (lb.shape[0] !== im.shape[0]) throw rangeError(fn, `${imagesFile} has ${im.shape[0]} images but ${labelsFile} has ${lb.shape[0]} labels`);
  const images = new Float32Array(im.data.length);
  for (let i = 0; i < images.length; i++) images[i] = im.data[i] / 255;
  return { images, labels: Int32Array.from(lb.data), n: im.shape[0], features: im.shape[1] * im.shape[2] };
}

function split(images: Float32Array, labels: Int32Array, features: number, lo: number, hi: number, device?: Device): Split {
  return {
    x: tensor(images.subarray(lo * features, hi * features), { shape: [hi - lo, features], device }),
    y: tensor(labels.subarray(lo, hi), { device }),
  };
}

/** Loads an MNIST-format dataset (see MnistOptions). */
export function loadMnist(opts: MnistOptions = {}): MnistData {
  const fn = 'cudagrad.data.loadMnist';
  const o = checkOptions(fn, opts, ['data', 'holdOut', 'device']) as MnistOptions;
  const data = o.data ?? 'mnist';
  if (typeof data !== 'string' || data === '') throw typeError(fn, `data must be 'mnist', 'fashion' or a folder, got ${describe(data)}`);
  const dir = data === 'mnist' ? shippedMnistDir() : data === 'fashion' ? fashionMnistDir() : path.resolve(data);
  if (!fs.existsSync(dir)) {
    const hint = data === 'fashion' ? ' (install it: apt-get install dataset-fashion-mnist, or scripts/setup-fashion-mnist.sh)' : '';
    throw rangeError(fn, `dataset folder ${dir} does not exist${hint}`);
  }
  const testIm = find(dir, 't10k', 'images');
  const testLb = find(dir, 't10k', 'labels');
  if (!testIm || !testLb) throw rangeError(fn, `${dir} has no t10k-images-idx3-ubyte[.gz] / t10k-labels-idx1-ubyte[.gz]`);
  const trainIm = find(dir, 'train', 'images');
  const trainLb = find(dir, 'train', 'labels');
  const test = readIdxPair(testIm, testLb);
  const name = data === 'mnist' || data === 'fashion' ? data : path.basename(dir);
  if (trainIm && trainLb) {
    const train = readIdxPair(trainIm, trainLb);
    if (train.features !== test.features) throw rangeError(fn, `${dir}: train images have ${train.features} pixels, test images ${test.features}`);
    return {
      train: split(train.images, train.labels, train.features, 0, train.n, o.device),
      test: split(test.images, test.labels, test.features, 0, test.n, o.device),
      dir,
      description: `${name}: ${train.n} train / ${test.n} test`,
    };
  }
  const holdOut = o.holdOut ?? 2000;
  if (!Number.isSafeInteger(holdOut) || holdOut < 1 || holdOut >= test.n) throw rangeError(fn, `holdOut must be an integer in [1, ${test.n}), got ${describe(holdOut)}`);
  const cut = test.n - holdOut;
  return {
    train: split(test.images, test.labels, test.features, 0, cut, o.device),
    test: split(test.images, test.labels, test.features, cut, test.n, o.device),
    dir,
    description: `${name} t10k: ${cut} train / ${holdOut} held out`,
  };
}
