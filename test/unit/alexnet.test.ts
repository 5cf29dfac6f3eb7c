/** AlexNet: the original's geometry scaled to the input, its parameters counted without tfjs, and training on wasm. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { alexNetGeometry, alexNetParameters } from '../../core/alexnet.ts';
import { checkParameterBudget, DEFAULT_TRAINING_BUDGET, TrainingBudgetError } from '../../core/budget.ts';
import { DEFAULT_ALEXNET, defaultHyperparameters, withOverrides } from '../../core/hyperparameters.ts';
import { parseManifest } from '../../core/manifest.ts';
import { buildAlexNet } from '../../core/model-builders.ts';
import { trainModel } from '../../core/model-training.ts';
import { createRandom } from '../../core/random.ts';
import { selectBackend, tf } from '../../core/tfjs.ts';

describe('AlexNet', () => {
  before(() => selectBackend('wasm'));

  it('is the original on 227-pixel images: 11×11/4, 5×5, three 3×3, 6×6×256 maps into the head', () => {
    const { convs, features } = alexNetGeometry(227, 227);
    assert.deepEqual(
      convs.map((c) => [c.filters, c.kernel, c.stride, c.pool]),
      [
        [96, 11, 4, true],
        [256, 5, 1, true],
        [384, 3, 1, false],
        [384, 3, 1, false],
        [256, 3, 1, true],
      ],
    );
    assert.deepEqual(features, [6, 6, 256]);
    // The original's count, 1,000 classes (without its two-GPU split): about 62 M.
    const original = alexNetParameters({ height: 227, width: 227, channels: 3, classes: 1000 }, [4096, 4096]);
    assert.equal(original, 62_378_344);
  });

  it('scales its first kernels and stride to the input, reaching the head as about 6×6 maps', () => {
    for (const [side, kernel, stride] of [
      [64, 3, 1],
      [128, 7, 2],
      [512, 25, 9],
    ] as const) {
      const { convs, features } = alexNetGeometry(side, side);
      assert.deepEqual([convs[0]?.kernel, convs[0]?.stride], [kernel, stride], `${side} px`);
      assert.ok(features[0] >= 5 && features[0] <= 7, `${side} px gives ${features[0]}×${features[1]} maps`);
    }
  });

  it('is chosen by image.architecture, for RGB images of at least 64 pixels a side only', () => {
    const manifest = parseManifest({
      image: { width: 64, height: 64, channels: 3, architecture: 'alexnet' },
    });
    assert.equal(manifest.image?.architecture, 'alexnet');
    const hp = defaultHyperparameters('image', manifest.image?.architecture);
    assert.equal(hp.architecture, 'alexnet');
    assert.deepEqual(withOverrides(hp, { denseUnits: [512, 512] }).architecture, 'alexnet');
    assert.throws(
      () => parseManifest({ image: { width: 28, height: 28, channels: 1, architecture: 'alexnet' } }),
      /alexnet takes RGB images of at least 64×64.*28×28×1/,
    );
    assert.throws(
      () => parseManifest({ image: { width: 64, height: 64, architecture: 'vgg' } }),
      /image.architecture must be one of cnn, alexnet/,
    );
    // With the original head it is a GPU model, over the default budget: the run fails at planning, saying so.
    const input = { kind: 'image', height: 64, width: 64, channels: 3, classes: 10 } as const;
    assert.throws(
      () => checkParameterBudget(hp, input, DEFAULT_TRAINING_BUDGET.parameters),
      (error: unknown) => error instanceof TrainingBudgetError && /trainable parameters/.test(error.message),
    );
  });

  it('builds the layers it counts, with the original head', () => {
    const hp = DEFAULT_ALEXNET;
    const model = buildAlexNet([64, 64, 3], 3, hp);
    try {
      const layers = model.layers.map((layer) => layer.getClassName());
      assert.deepEqual(
        layers.filter((name) => name === 'Conv2D' || name === 'MaxPooling2D'),
        ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'Conv2D', 'Conv2D', 'MaxPooling2D'],
      );
      assert.deepEqual(
        model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.getConfig().units),
        [4096, 4096, 3],
      );
      assert.equal(layers.filter((name) => name === 'Dropout').length, 2);
      assert.equal(
        model.countParams(),
        alexNetParameters({ height: 64, width: 64, channels: 3, classes: 3 }, hp.denseUnits),
      );
    } finally {
      model.dispose();
    }
  });

  it('trains a few steps on wasm (its five convolutions, a smaller head)', async () => {
    // The head is a hyperparameter; 2 × 4096 units train on wasm at seconds a step, which a test need not pay.
    const hp = {
      ...DEFAULT_ALEXNET,
      denseUnits: [128, 128],
      epochs: 1,
      batchSize: 4,
      augment: 'none' as const,
    };
    const model = buildAlexNet([64, 64, 3], 3, hp);
    try {
      const random = createRandom(3);
      const images = {
        x: Float32Array.from({ length: 8 * 64 * 64 * 3 }, () => random()),
        labels: [0, 1, 2, 0, 1, 2, 0, 1],
      };
      const first = model.getWeights()[0]?.dataSync().slice();
      const { history } = await trainModel(model, images, undefined, hp);
      assert.equal(history.length, 1);
      for (const log of history) assert.ok(Number.isFinite(log.loss), `loss ${log.loss}`);
      const after = model.getWeights()[0]?.dataSync();
      assert.ok(first && after?.some((v, i) => v !== first[i]), 'training changes the first kernel');
    } finally {
      model.dispose();
    }
    assert.ok(tf.memory().numTensors < 50, 'its tensors are released');
  });
});
