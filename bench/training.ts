/**
 * Training speed: tfjs (our training loop, wasm backend) against PyTorch on CPU, on the same MLP and the
 * same small CNN, the same MNIST digits (the `mnist` package), epochs, batch size and optimizer, in one run.
 * Prints samples/s for both, the ratio (tfjs / PyTorch) and test accuracy for both.
 *
 *   npm run bench:training                  (PyTorch: `apt-get install python3-torch`, run with /usr/bin/python3)
 *   NIMBUS_TF_BACKEND=cpu npm run bench:training     (another tfjs backend)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ENV } from '../core/contract.ts';
import type { CnnHyperparameters, MlpHyperparameters } from '../core/hyperparameters.ts';
import { argmax } from '../core/metrics.ts';
import { buildCnn, buildMlp } from '../core/model-builders.ts';
import { flatten } from '../core/model-data.ts';
import { predictProbabilities } from '../core/model-inference.ts';
import { trainModel } from '../core/model-training.ts';
import { createRandom, shuffled } from '../core/random.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { selectBackend } from '../core/tfjs.ts';

interface Digits {
  [digit: number]: { range(start: number, end: number): number[][] };
}
const mnist = createRequire(import.meta.url)('mnist') as Digits;
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const TRAIN_PER_DIGIT = Number(process.env.TRAIN_PER_DIGIT ?? 400);
const TEST_PER_DIGIT = 100;

function digits(start: number, end: number, seed: number) {
  const rows = Array.from(
    { length: 10 },
    (_, d) => mnist[d]?.range(start, end).map((pixels) => ({ pixels, d })) ?? [],
  ).flat();
  const order = shuffled(rows, createRandom(seed));
  return { features: order.map((r) => r.pixels), labels: order.map((r) => r.d) };
}

const train = digits(0, TRAIN_PER_DIGIT, 1);
const test = digits(TRAIN_PER_DIGIT, TRAIN_PER_DIGIT + TEST_PER_DIGIT, 2);
const dir = mkdtempSync(join(tmpdir(), 'nimbus-bench-training-'));
const write = (name: string, data: { features: number[][]; labels: number[] }) => {
  writeFileSync(join(dir, `${name}.x`), Float32Array.from(data.features.flat()));
  writeFileSync(join(dir, `${name}.y`), Int32Array.from(data.labels));
};
write('train', train);
write('test', test);

const mlp: MlpHyperparameters = {
  hiddenUnits: [128, 64],
  dropout: 0,
  learningRate: 1e-3,
  epochs: 5,
  batchSize: 128,
  seed: 7,
};
const cnn: CnnHyperparameters = {
  blockFilters: [16, 32],
  convsPerBlock: 1,
  kernelSize: 3,
  denseUnits: [64],
  dropout: 0,
  learningRate: 1e-3,
  epochs: 3,
  batchSize: 64,
  seed: 7,
};

const backend = await selectBackend(process.env[ENV.tfBackend] || 'wasm');

async function tfjs(model: 'mlp' | 'cnn') {
  const network = model === 'mlp' ? buildMlp(784, 10, mlp) : buildCnn([28, 28, 1], 10, cnn);
  const hp = model === 'mlp' ? mlp : cnn;
  const started = performance.now();
  await trainModel(network, { x: flatten(train.features), labels: train.labels }, undefined, hp);
  const seconds = (performance.now() - started) / 1000;
  const predicted = predictProbabilities(network, flatten(test.features)).map(argmax);
  network.dispose();
  return {
    samplesPerSecond: (train.labels.length * hp.epochs) / seconds,
    accuracy: predicted.filter((p, i) => p === test.labels[i]).length / test.labels.length,
  };
}

async function torch(model: 'mlp' | 'cnn') {
  const config = {
    model,
    ...(model === 'mlp' ? mlp : cnn),
    sampleShape: model === 'mlp' ? [784] : [28, 28, 1],
    classes: 10,
    train: join(dir, 'train'),
    test: join(dir, 'test'),
    trainCount: train.labels.length,
    testCount: test.labels.length,
  };
  const script = join(REPO_ROOT, 'bench', 'peers', 'torch_train.py');
  const { stdout } = await promisify(execFile)(PYTHON, [script, JSON.stringify(config)], {
    timeout: 600_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
    samplesPerSecond: number;
    accuracy: number;
    threads: number;
    torch: string;
  };
}

try {
  const rows: string[] = [];
  let peer = '';
  for (const model of ['mlp', 'cnn'] as const) {
    const ours = await tfjs(model);
    const theirs = await torch(model);
    peer = `PyTorch ${theirs.torch} CPU, ${theirs.threads} threads`;
    rows.push(
      `  ${model.padEnd(4)} ${ours.samplesPerSecond.toFixed(0).padStart(10)} ${theirs.samplesPerSecond.toFixed(0).padStart(10)} ` +
        `${(ours.samplesPerSecond / theirs.samplesPerSecond).toFixed(2).padStart(7)} ` +
        `${ours.accuracy.toFixed(3).padStart(9)} ${theirs.accuracy.toFixed(3).padStart(9)}`,
    );
  }
  console.log(
    `MNIST digits: ${train.labels.length} train / ${test.labels.length} test; tfjs backend ${backend} vs ${peer}`,
  );
  console.log(
    `  MLP 784-128-64-10, ${mlp.epochs} epochs, batch ${mlp.batchSize}; CNN conv16-pool-conv32-pool-64-10, ${cnn.epochs} epochs, batch ${cnn.batchSize}; Adam 1e-3`,
  );
  console.log(
    `  ${'model'.padEnd(4)} ${'tfjs/s'.padStart(10)} ${'torch/s'.padStart(10)} ${'ratio'.padStart(7)} ${'tfjs acc'.padStart(9)} ${'torch acc'.padStart(9)}`,
  );
  for (const row of rows) console.log(row);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
