/**
 * Data-parallel training (core/data-parallel.ts): a batch split between this thread and worker threads takes
 * the step `model.fit` takes on the whole batch, and runs reproduce.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { shardBounds } from '../../core/data-parallel.ts';
import { DEFAULT_CNN, DEFAULT_MLP } from '../../core/hyperparameters.ts';
import { buildCnn, buildMlp } from '../../core/model-builders.ts';
import type { LabelledData } from '../../core/model-data.ts';
import { trainModel } from '../../core/model-training.ts';
import type { EpochLog } from '../../core/pipeline.ts';
import { createRandom } from '../../core/random.ts';
import { selectBackend, type tf } from '../../core/tfjs.ts';

function data(rows: number, width: number, classes: number, seed: number): LabelledData {
  const random = createRandom(seed);
  const labels = Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? 0 : i % classes));
  const x = Float32Array.from(
    labels.flatMap((label) => Array.from({ length: width }, () => label + random())),
  );
  return { x, labels };
}

async function train(
  build: () => tf.LayersModel,
  train: LabelledData,
  validation: LabelledData | undefined,
  hp: Parameters<typeof trainModel>[3],
  replicas: number,
): Promise<{ history: EpochLog[]; weights: number[][] }> {
  const model = build();
  const { history } = await trainModel(model, train, validation, hp, { replicas });
  const weights = model.getWeights().map((w) => [...w.dataSync()]);
  model.dispose();
  return { history, weights };
}

function assertClose(actual: number[][], expected: number[][], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, i) => {
    const other = expected[i] ?? [];
    let worst = 0;
    values.forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - (other[k] as number)) / (1 + Math.abs(other[k] as number)));
    });
    assert.ok(worst < tolerance, `weight ${i}: relative difference ${worst}`);
  });
}

function assertSameHistory(actual: EpochLog[], expected: EpochLog[], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((log, i) => {
    const other = expected[i] as EpochLog;
    for (const key of ['loss', 'accuracy', 'validationLoss', 'validationAccuracy'] as const) {
      assert.equal(log[key] === undefined, other[key] === undefined, `epoch ${i + 1} ${key}`);
      if (log[key] !== undefined) {
        const difference = Math.abs((log[key] as number) - (other[key] as number));
        assert.ok(difference < tolerance, `epoch ${i + 1} ${key}: ${log[key]} vs ${other[key]}`);
      }
    }
  });
}

describe('data-parallel training over worker threads', () => {
  before(() => selectBackend('wasm'));

  it('takes the steps model.fit takes: an MLP with class weights, weight decay and validation', async () => {
    const rows = data(150, 6, 3, 1);
    const validation = data(40, 6, 3, 2);
    const hp = {
      ...DEFAULT_MLP,
      epochs: 4,
      batchSize: 32,
      dropout: 0,
      weightDecay: 1e-3,
      classWeight: 'balanced' as const,
    };
    const build = () => buildMlp(6, 3, hp);
    const fit = await train(build, rows, validation, hp, 1);
    const parallel = await train(build, rows, validation, hp, 2);
    assertSameHistory(parallel.history, fit.history, 1e-4);
    assertClose(parallel.weights, fit.weights, 1e-4);
  });

  it('takes the steps model.fit takes: a small CNN on three replicas, a last batch smaller than three', async () => {
    const random = createRandom(3);
    const images: LabelledData = {
      x: Float32Array.from({ length: 37 * 10 * 10 }, () => random()),
      labels: Array.from({ length: 37 }, (_, i) => i % 2),
    };
    const hp = {
      ...DEFAULT_CNN,
      blockFilters: [4, 8],
      denseUnits: [8],
      epochs: 2,
      batchSize: 18,
      dropout: 0,
    };
    const build = () => buildCnn([10, 10, 1], 2, hp);
    const fit = await train(build, images, undefined, hp, 1);
    const parallel = await train(build, images, undefined, hp, 3);
    assertSameHistory(parallel.history, fit.history, 1e-4);
    assertClose(parallel.weights, fit.weights, 1e-4);
  });

  it('reproduces: the same seed and replica count give the same weights, dropout included', async () => {
    const rows = data(90, 5, 2, 4);
    const hp = { ...DEFAULT_MLP, epochs: 3, batchSize: 16, dropout: 0.3 };
    const run = () => train(() => buildMlp(5, 2, hp), rows, undefined, hp, 2);
    assert.deepEqual(await run(), await run());
  });

  it('splits a batch into contiguous shards, the first ones a row longer', () => {
    assert.deepEqual(shardBounds(0, 7, 2), [
      [0, 4],
      [4, 7],
    ]);
    assert.deepEqual(shardBounds(10, 12, 3), [
      [10, 11],
      [11, 12],
      [12, 12],
    ]);
  });
});
