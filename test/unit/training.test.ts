/** The training loop on the wasm backend: reproducibility, SMOTE, augmentation. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { keepCheckpoints } from '../../core/checkpoints.ts';
import { denseModelForward } from '../../core/dense-model.ts';
import { DEFAULT_CNN, DEFAULT_MLP } from '../../core/hyperparameters.ts';
import { augment, smote } from '../../core/model-augment.ts';
import { buildCnn, buildMlp } from '../../core/model-builders.ts';
import type { LabelledData } from '../../core/model-data.ts';
import { serializeModel } from '../../core/model-files.ts';
import { denseForward, predictProbabilities } from '../../core/model-inference.ts';
import { trainModel } from '../../core/model-training.ts';
import { createRandom } from '../../core/random.ts';
import { selectBackend } from '../../core/tfjs.ts';

/** Two noisy blobs in 4-D; class 1 has `minority` samples. */
function blobs(majority: number, minority: number, seed: number): LabelledData {
  const random = createRandom(seed);
  const labels = [...Array(majority).fill(0), ...Array(minority).fill(1)] as number[];
  const x = Float32Array.from(
    labels.flatMap((label) => Array.from({ length: 4 }, () => label * 2 + random())),
  );
  return { x, labels };
}

describe('the training loop', () => {
  before(() => selectBackend('wasm'));

  it('is reproducible: same seed, same data, same backend → the same history', async () => {
    const data = blobs(40, 20, 1);
    const hp = { ...DEFAULT_MLP, epochs: 5, dropout: 0.2 };
    const run = async () => {
      const model = buildMlp(4, 2, hp);
      const { history } = await trainModel(model, data, data, hp);
      model.dispose();
      return history;
    };
    assert.deepEqual(await run(), await run());
    const images: LabelledData = {
      x: Float32Array.from({ length: 16 * 8 * 8 }, (_, i) => Math.sin(i)),
      labels: Array.from({ length: 16 }, (_, i) => i % 2),
    };
    const cnnHp = {
      ...DEFAULT_CNN,
      blockFilters: [4],
      denseUnits: [8],
      epochs: 2,
      batchSize: 8,
      augment: 'flip+shift' as const,
    };
    const cnn = async () => {
      const model = buildCnn([8, 8, 1], 2, cnnHp);
      const { history } = await trainModel(model, images, undefined, cnnHp);
      model.dispose();
      return history;
    };
    assert.deepEqual(await cnn(), await cnn());
  });

  it('serves a dense model by a plain-JS forward pass that agrees with tfjs (classifier and regressor)', async () => {
    const data = blobs(60, 40, 3);
    for (const task of ['classification', 'regression'] as const) {
      const model = buildMlp(4, 2, { ...DEFAULT_MLP, hiddenUnits: [16, 8], dropout: 0.2, epochs: 3 }, task);
      await trainModel(model, data, undefined, { ...DEFAULT_MLP, epochs: 3 });
      const forward = denseForward(model);
      assert.ok(forward, 'an MLP has a plain-JS forward pass');
      // And the same pass read straight from the saved files, as serving loads it (no tfjs).
      const fromFiles = denseModelForward(await serializeModel(model, 'weights.bin'));
      assert.ok(fromFiles, "an MLP's files have a plain-JS forward pass");
      const expected = predictProbabilities(model, data.x);
      for (const actual of [forward(data.x), fromFiles(data.x)]) {
        assert.equal(actual.length, 100);
        for (const [i, row] of actual.entries()) {
          for (const [j, value] of row.entries()) {
            assert.ok(Math.abs(value - (expected[i]?.[j] ?? Number.NaN)) < 1e-5, `${task} ${i},${j}`);
          }
        }
      }
      model.dispose();
    }
    const cnn = buildCnn([8, 8, 1], 2, {
      ...DEFAULT_CNN,
      blockFilters: [4],
      denseUnits: [8],
    });
    assert.equal(denseForward(cnn), undefined, 'a CNN stays on tfjs');
    assert.equal(denseModelForward(await serializeModel(cnn, 'weights.bin')), undefined);
    cnn.dispose();
  });

  it('ends early stopping on the best epoch: the weights of the lowest validation loss, not the last', async () => {
    const train = blobs(60, 60, 4);
    // Validation labels that disagree with the training ones: the better the model fits, the worse it does on
    // them, so validation loss is lowest early and early stopping ends epochs after it.
    const validation = { x: train.x, labels: train.labels.map((label) => 1 - label) };
    const hp = { ...DEFAULT_MLP, hiddenUnits: [8], dropout: 0, epochs: 30, patience: 2, learningRate: 0.05 };
    const model = buildMlp(4, 2, hp);
    const model0Shapes = model.getWeights().map((w) => w.shape);
    const snapshots = new Map<number, Float32Array[]>();
    const result = await trainModel(model, train, validation, hp, {
      onEpoch: (log) => {
        snapshots.set(
          log.epoch,
          model.getWeights().map((w) => w.dataSync() as Float32Array),
        );
      },
    });
    const losses = result.history.map((log) => log.validationLoss ?? Number.POSITIVE_INFINITY);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    assert.ok(result.stoppedEarly !== undefined, 'stopped early');
    assert.ok(
      best < result.history.length,
      `the best epoch (${best}) is not the last (${result.history.length})`,
    );
    assert.equal(result.bestEpoch, best);
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    assert.deepEqual(weights, snapshots.get(best), "the model has the best epoch's weights");
    assert.notDeepEqual(weights, snapshots.get(result.history.length));

    // A job resumed after its best epoch (its checkpoints kept that epoch's weights) still ends on it.
    const resumed = buildMlp(4, 2, hp);
    resumed.setWeights(
      snapshots.get(result.history.length)?.map((w, i) => tf.tensor(w, model0Shapes[i])) ?? [],
    );
    const bestLog = result.history[best - 1];
    assert.ok(bestLog);
    const seeded = (snapshots.get(best) ?? []).map((w, i) => tf.tensor(w, model0Shapes[i]));
    const again = await trainModel(resumed, train, validation, hp, {
      history: result.history,
      best: { log: bestLog, weights: seeded },
    });
    assert.equal(again.bestEpoch, best);
    assert.deepEqual(
      resumed.getWeights().map((w) => w.dataSync() as Float32Array),
      snapshots.get(best),
      "the resumed job ends on the best epoch's weights its checkpoints kept",
    );
    tf.dispose(seeded);
    resumed.dispose();
    model.dispose();

    // Without early stopping, the last epoch's weights stay.
    const plain = buildMlp(4, 2, { ...hp, patience: 0, epochs: 3 });
    const last = await trainModel(plain, train, validation, { ...hp, patience: 0, epochs: 3 });
    assert.equal(last.bestEpoch, 3);
    plain.dispose();
  });

  it('keeps two checkpoints at most: the latest, and the best by validation loss', () => {
    const at = (epoch: number, validationLoss?: number) => ({
      epoch,
      folder: `epoch-${epoch}/`,
      ...(validationLoss === undefined ? {} : { validationLoss }),
    });
    let kept = {};
    const steps: string[][] = [];
    for (const [epoch, loss] of [
      [1, 0.9],
      [2, 0.5],
      [3, 0.7],
      [4, 0.8],
      [5, 0.4],
      [6, Number.NaN],
    ] as const) {
      const next = keepCheckpoints(kept, at(epoch, loss));
      kept = next.kept;
      steps.push(next.discard);
    }
    // Epoch 2 (the best) outlives 3 and 4; 5 replaces it; a loss that is not a number never is the best.
    assert.deepEqual(steps, [[], ['epoch-1/'], [], ['epoch-3/'], ['epoch-4/', 'epoch-2/'], []]);
    assert.deepEqual(kept, { latest: at(6, Number.NaN), best: at(5, 0.4) });
    // Without validation data only the latest is kept.
    assert.deepEqual(keepCheckpoints({ latest: at(1) }, at(2)), {
      kept: { latest: at(2) },
      discard: ['epoch-1/'],
    });
  });

  it('adds L2 weight decay to the loss when asked, and only then', async () => {
    const data = blobs(20, 20, 3);
    const loss = async (weightDecay: number) => {
      const hp = { ...DEFAULT_MLP, epochs: 1, weightDecay };
      const model = buildMlp(4, 2, hp);
      const { history } = await trainModel(model, data, undefined, hp);
      model.dispose();
      return history[0]?.loss ?? 0;
    };
    assert.ok((await loss(0.5)) > (await loss(0)) + 0.1);
  });

  it('oversamples minority classes with SMOTE: balanced counts, synthetic rows inside the class', () => {
    const data = blobs(30, 4, 2);
    const out = smote(data, 4, 0);
    assert.equal(out.labels.filter((l) => l === 1).length, 30);
    assert.equal(out.labels.length, 60);
    assert.deepEqual(out.x.subarray(0, data.x.length), data.x);
    for (let i = 34; i < 60; i++) {
      for (const v of out.x.subarray(i * 4, i * 4 + 4)) assert.ok(v >= 2 && v <= 3, `synthetic value ${v}`);
    }
    assert.deepEqual(smote(data, 4, 0), out);
  });

  it('augments images: each is itself or its mirror (flip), and shifts move content by at most 10%', () => {
    const image = Array.from({ length: 10 * 10 }, (_, i) => (i % 10) + 10 * Math.floor(i / 10));
    const xs = tf.tensor4d(Array(8).fill(image).flat(), [8, 10, 10, 1]);
    const flipped = augment(xs, { ...DEFAULT_CNN, augment: 'flip' }, 1).arraySync() as number[][][][];
    const mirror = (rows: number[][][]) => rows.map((row) => [...row].reverse());
    const original = (xs.arraySync() as number[][][][])[0] as number[][][];
    let mirrored = 0;
    for (const out of flipped) {
      if (JSON.stringify(out) === JSON.stringify(mirror(original))) mirrored++;
      else assert.deepEqual(out, original);
    }
    assert.ok(mirrored > 0 && mirrored < 8, `${mirrored} of 8 mirrored`);
    const shifted = augment(xs, { ...DEFAULT_CNN, augment: 'shift' }, 2).arraySync() as number[][][][];
    for (const out of shifted) {
      const centre = out[5]?.[5]?.[0] as number;
      assert.ok(
        Math.abs((centre % 10) - 5) <= 1 && Math.abs(Math.floor(centre / 10) - 5) <= 1,
        `centre ${centre}`,
      );
    }
    xs.dispose();
  });
});
