/**
 * Training speed: tfjs (our training loop, wasm backend) against PyTorch on CPU, on the same MLP and the
 * same small CNN, the same MNIST digits (the `mnist` package), epochs, batch size and optimizer, in one run.
 * PyTorch first trains each model on 1 and on 2 threads and keeps the faster count. Then the two sides
 * alternate for BENCH_ROUNDS rounds (default 3; the side that goes first swaps each round), so a change in the
 * machine's load falls on both; each round prints samples/s for both, the ratio (tfjs / PyTorch) and test
 * accuracy, and the summary the median ratio with its range.
 *
 *   npm run bench:training                  (PyTorch: `apt-get install python3-torch`, run with /usr/bin/python3)
 *   NIMBUS_TF_BACKEND=cpu npm run bench:training     (another tfjs backend)
 *   NIMBUS_TF_THREADS=1 npm run bench:training       (wasm threads; default: every core, as in training)
 *   NIMBUS_TF_REPLICAS=2 npm run bench:training      (data-parallel over worker threads, one wasm thread each)
 *   BENCH_ROUNDS=5 npm run bench:training
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
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
import { backendThreads, replicasSetting, selectBackend, wasmThreadsSetting } from '../core/tfjs.ts';

interface Digits {
  [digit: number]: { range(start: number, end: number): number[][] };
}
const mnist = createRequire(import.meta.url)('mnist') as Digits;
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const TRAIN_PER_DIGIT = Number(process.env.TRAIN_PER_DIGIT ?? 400);
const TEST_PER_DIGIT = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TORCH_THREADS = [1, 2];

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

// As the training entrypoint chooses: data-parallel replicas each on one wasm thread, else the wasm threads.
const replicas = replicasSetting(process.env[ENV.tfReplicas]);
const backend = await selectBackend(process.env[ENV.tfBackend] || 'wasm', {
  wasmThreads:
    replicas > 1 && !process.env[ENV.tfThreads]
      ? 1
      : wasmThreadsSetting(process.env[ENV.tfThreads], availableParallelism()),
});
const tfjsThreads = `${backendThreads() ?? '?'} thread(s)${replicas > 1 ? ` × ${replicas} replicas` : ''}`;

interface Run {
  readonly samplesPerSecond: number;
  readonly accuracy: number;
}

async function tfjs(model: Model): Promise<Run> {
  const network = model === 'mlp' ? buildMlp(784, 10, mlp) : buildCnn([28, 28, 1], 10, cnn);
  const hp = model === 'mlp' ? mlp : cnn;
  const started = performance.now();
  await trainModel(network, { x: flatten(train.features), labels: train.labels }, undefined, hp, {
    replicas,
  });
  const seconds = (performance.now() - started) / 1000;
  const predicted = predictProbabilities(network, flatten(test.features)).map(argmax);
  network.dispose();
  return {
    samplesPerSecond: (train.labels.length * hp.epochs) / seconds,
    accuracy: predicted.filter((p, i) => p === test.labels[i]).length / test.labels.length,
  };
}

async function torch(model: Model, threads: number) {
  const config = {
    model,
    ...(model === 'mlp' ? mlp : cnn),
    sampleShape: model === 'mlp' ? [784] : [28, 28, 1],
    classes: 10,
    train: join(dir, 'train'),
    test: join(dir, 'test'),
    trainCount: train.labels.length,
    testCount: test.labels.length,
    threads,
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

type Model = 'mlp' | 'cnn';
const MODELS: readonly Model[] = ['mlp', 'cnn'];
const fixed = (value: number, digits: number, width: number) => value.toFixed(digits).padStart(width);
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

try {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS must be a whole number ≥ 1`);
  console.log(`MNIST digits: ${train.labels.length} train / ${test.labels.length} test`);
  console.log(
    `  MLP 784-128-64-10, ${mlp.epochs} epochs, batch ${mlp.batchSize}; CNN conv16-pool-conv32-pool-64-10, ${cnn.epochs} epochs, batch ${cnn.batchSize}; Adam 1e-3`,
  );
  // PyTorch's best thread count on this machine, per model: each count once, the faster kept.
  const torchThreads = new Map<Model, number>();
  let torchVersion = '';
  for (const model of MODELS) {
    const trials = [];
    for (const threads of TORCH_THREADS) trials.push({ threads, run: await torch(model, threads) });
    torchVersion = trials[0]?.run.torch ?? '';
    const best = trials.reduce((a, b) => (b.run.samplesPerSecond > a.run.samplesPerSecond ? b : a));
    torchThreads.set(model, best.threads);
    console.log(
      `  PyTorch ${model}: ${trials.map((t) => `${t.threads} thread${t.threads > 1 ? 's' : ''} ${t.run.samplesPerSecond.toFixed(0)}/s`).join(', ')} → ${best.threads}`,
    );
  }
  console.log(
    `tfjs ${backend} backend, ${tfjsThreads} vs PyTorch ${torchVersion} CPU, ${MODELS.map((m) => `${m} ${torchThreads.get(m)} thread(s)`).join(', ')}; ${ROUNDS} rounds`,
  );
  console.log(
    `  ${'round'.padEnd(5)} ${'model'.padEnd(5)} ${'tfjs/s'.padStart(8)} ${'torch/s'.padStart(8)} ${'ratio'.padStart(6)} ${'tfjs acc'.padStart(9)} ${'torch acc'.padStart(9)}`,
  );
  const ratios = new Map<Model, number[]>(MODELS.map((m) => [m, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const model of MODELS) {
      const threads = torchThreads.get(model) ?? 1;
      let ours: Run;
      let theirs: Run;
      if (round % 2) {
        ours = await tfjs(model);
        theirs = await torch(model, threads);
      } else {
        theirs = await torch(model, threads);
        ours = await tfjs(model);
      }
      const ratio = ours.samplesPerSecond / theirs.samplesPerSecond;
      ratios.get(model)?.push(ratio);
      console.log(
        `  ${String(round).padEnd(5)} ${model.padEnd(5)} ${fixed(ours.samplesPerSecond, 0, 8)} ${fixed(theirs.samplesPerSecond, 0, 8)} ` +
          `${fixed(ratio, 2, 6)} ${fixed(ours.accuracy, 3, 9)} ${fixed(theirs.accuracy, 3, 9)}`,
      );
    }
  }
  for (const model of MODELS) {
    const values = ratios.get(model) ?? [];
    console.log(
      `  ${model} ratio tfjs/PyTorch: median ${median(values).toFixed(2)} (range ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}, ${values.length} rounds; tfjs ${tfjsThreads}, PyTorch ${torchThreads.get(model)} thread(s))`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
