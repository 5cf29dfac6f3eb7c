/**
 * The wasm backend on two threads (core/wasm-threads.ts): it starts in Node, says its thread count, computes
 * what the cpu backend computes, and trains reproducibly. Its own process (node --test runs each file in one):
 * the wasm backend starts once per process.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DEFAULT_CNN, DEFAULT_MLP } from '../../core/hyperparameters.ts';
import { buildCnn, buildMlp } from '../../core/model-builders.ts';
import type { LabelledData } from '../../core/model-data.ts';
import { trainModel } from '../../core/model-training.ts';
import { createRandom } from '../../core/random.ts';
import {
  backendThreads,
  libraryVersions,
  replicasSetting,
  selectBackend,
  tf,
  wasmThreadsSetting,
} from '../../core/tfjs.ts';

const values = (length: number, seed: number) => {
  const random = createRandom(seed);
  return Float32Array.from({ length }, () => random() * 2 - 1);
};

async function on<T>(backend: 'cpu' | 'wasm', f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return tf.tidy(f as () => tf.TensorContainer) as T;
}

function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number)));
  }
  return worst;
}

describe('the wasm backend on two threads', () => {
  before(() => selectBackend('wasm', { wasmThreads: 2 }));

  it('runs on two threads and says so in the library versions a model card records', () => {
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(backendThreads(), 2);
    assert.equal(libraryVersions().threads, '2');
    assert.equal(libraryVersions().backend, 'wasm');
  });

  it("gives the cpu backend's gradients of a conv–pool–dense network", async () => {
    const x = values(4 * 28 * 28, 1);
    const conv1 = values(3 * 3 * 1 * 8, 2);
    const conv2 = values(3 * 3 * 8 * 16, 3);
    const dense = values(7 * 7 * 16 * 10, 4);
    const gradients = () => {
      const g = tf.grads((a, b, c) => {
        let h = tf.conv2d(tf.tensor4d(x, [4, 28, 28, 1]), a as tf.Tensor4D, 1, 'same').relu();
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
        h = tf.conv2d(h as tf.Tensor4D, b as tf.Tensor4D, 1, 'same').relu();
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
        return tf
          .matMul(h.reshape([4, 7 * 7 * 16]), c as tf.Tensor2D)
          .square()
          .sum();
      });
      return g([
        tf.tensor4d(conv1, [3, 3, 1, 8]),
        tf.tensor4d(conv2, [3, 3, 8, 16]),
        tf.tensor2d(dense, [7 * 7 * 16, 10]),
      ]).map((t) => t.dataSync());
    };
    const expected = await on('cpu', gradients);
    const actual = await on('wasm', gradients);
    for (let i = 0; i < 3; i++) {
      const error = maxRelativeError(actual[i] ?? [], expected[i] ?? []);
      assert.ok(error < 1e-3, `gradient ${i}: relative error ${error}`);
    }
  });

  it('trains reproducibly: same seed, same data → the same weights', async () => {
    await tf.setBackend('wasm');
    const random = createRandom(5);
    const images: LabelledData = {
      x: Float32Array.from({ length: 48 * 12 * 12 }, () => random()),
      labels: Array.from({ length: 48 }, (_, i) => i % 3),
    };
    const cnnHp = { ...DEFAULT_CNN, blockFilters: [4, 8], denseUnits: [8], epochs: 2, batchSize: 16 };
    const tabular: LabelledData = {
      x: values(64 * 6, 6),
      labels: Array.from({ length: 64 }, (_, i) => i % 2),
    };
    const mlpHp = { ...DEFAULT_MLP, epochs: 3, dropout: 0 };
    const run = async (model: tf.LayersModel, data: LabelledData, hp: typeof cnnHp | typeof mlpHp) => {
      const { history } = await trainModel(model, data, undefined, hp);
      const weights = model.getWeights().map((w) => [...w.dataSync()]);
      model.dispose();
      return { history, weights };
    };
    const cnn = () => run(buildCnn([12, 12, 1], 3, cnnHp), images, cnnHp);
    assert.deepEqual(await cnn(), await cnn());
    const mlp = () => run(buildMlp(6, 2, mlpHp), tabular, mlpHp);
    assert.deepEqual(await mlp(), await mlp());
  });
});

describe('the wasm thread setting', () => {
  it("defaults to the machine's cores, at most 8, and takes a whole number from 1 to 8", () => {
    assert.equal(wasmThreadsSetting(undefined, 2), 1);
    assert.equal(wasmThreadsSetting('', 32), 1);
    assert.equal(wasmThreadsSetting('all', 2), 2);
    assert.equal(wasmThreadsSetting('all', 32), 8);
    assert.equal(wasmThreadsSetting('1', 2), 1);
    assert.equal(wasmThreadsSetting(' 3 ', 2), 3);
    for (const bad of ['0', '9', '1.5', 'two'])
      assert.throws(() => wasmThreadsSetting(bad, 2), /tfjs threads/);
  });

  it('takes data-parallel replicas from 1 to 8, and 1 when unset', () => {
    assert.equal(replicasSetting(undefined), 1);
    assert.equal(replicasSetting('2'), 2);
    for (const bad of ['0', '9', '2.5']) assert.throws(() => replicasSetting(bad), /tfjs replicas/);
  });
});
