/** Warm start: when it is asked for, and when the production version's weights fit a new run's model. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatasetValidationError } from '../../core/errors.ts';
import { defaultHyperparameters, withOverrides } from '../../core/hyperparameters.ts';
import { parseManifest } from '../../core/manifest.ts';
import { fitPreprocessor, imagePreprocessor } from '../../core/preprocessor.ts';
import { warmStartMismatch, warmStartRequested, weightShapeMismatch } from '../../core/warm-start.ts';

describe('warm start', () => {
  const schema = {
    kind: 'tabular' as const,
    task: 'classification' as const,
    label: 'y',
    features: [
      { name: 'x', type: 'numeric' as const },
      { name: 'c', type: 'categorical' as const },
    ],
    classes: ['a', 'b'],
    rowCount: 6,
  };
  const rows = (shift: number, colours = ['red', 'blue']) =>
    [1, 2, 3, 4, 5, 6].map((x, i) => ({
      x: x + shift,
      c: colours[i % colours.length] as string,
      y: i % 2 ? 'a' : 'b',
    }));
  const mlp = { ...defaultHyperparameters('tabular') };
  const side = (shift: number, overrides: object = {}, colours?: string[]) => ({
    preprocessor: fitPreprocessor(schema, rows(shift, colours)),
    hyperparameters: { ...withOverrides(defaultHyperparameters('tabular'), overrides) },
  });

  it('is asked for by the manifest, and by default for a retraining run, which the manifest may turn off', () => {
    assert.equal(warmStartRequested({ warmStart: true }, false), 'manifest');
    assert.equal(warmStartRequested(undefined, true), 'retrain');
    assert.equal(warmStartRequested({ epochs: 3 }, true), 'retrain');
    assert.equal(warmStartRequested({ warmStart: false }, true), undefined);
    assert.equal(warmStartRequested(undefined, false), undefined);
    assert.equal(withOverrides(defaultHyperparameters('tabular'), { warmStart: true }).warmStart, true);
    assert.throws(
      () => withOverrides(defaultHyperparameters('tabular'), { warmStart: 'yes' }),
      (e: unknown) =>
        e instanceof DatasetValidationError && /warmStart must be true or false/.test(e.message),
    );
    assert.throws(
      () => parseManifest({ hyperparameters: { warmStart: 1 } }),
      /warmStart" must be true or false/,
    );
  });

  it('fits new data of the same layout: fitted statistics may differ, features, classes and sizes may not', () => {
    assert.equal(warmStartMismatch(side(0), side(10)), undefined, 'other means and spreads fit');
    assert.equal(warmStartMismatch(side(0), side(0, { epochs: 5, learningRate: 0.001 })), undefined);
    assert.match(
      warmStartMismatch(side(0), side(0, { hiddenUnits: [64] })) ?? '',
      /hiddenUnits is \[32,16\], this run's \[64\]/,
    );
    assert.match(warmStartMismatch(side(0), side(0, {}, ['red', 'green'])) ?? '', /features differ.*at c/);
    const otherClasses = { ...side(0), preprocessor: { ...side(0).preprocessor, classes: ['b', 'a'] } };
    assert.match(
      warmStartMismatch(side(0), otherClasses) ?? '',
      /classes are \["a","b"\], this run's \["b","a"\]/,
    );
    assert.match(
      warmStartMismatch(side(0), { ...side(0), preprocessing: { scale: 'robust' } }) ?? '',
      /preprocessing .* differs/,
    );
    assert.equal(
      warmStartMismatch({ ...side(0), preprocessing: { scale: 'zscore' } }, side(0)),
      undefined,
      'the defaults, said or not, are the same settings',
    );
    const image = (width: number) => ({
      preprocessor: imagePreprocessor(['a', 'b'], { width, height: 28, channels: 1 }),
      hyperparameters: { ...defaultHyperparameters('image') },
    });
    assert.equal(warmStartMismatch(image(28), image(28)), undefined);
    assert.match(warmStartMismatch(image(28), image(32)) ?? '', /images are 28×28×1, this run's 32×28×1/);
    assert.match(warmStartMismatch(image(28), side(0)) ?? '', /trained on image data, this run on tabular/);
    assert.ok(mlp.architecture === 'mlp');
  });

  it("checks the weights' shapes once more where the trainer loads them", () => {
    assert.equal(weightShapeMismatch([[4, 8], [8]], [[4, 8], [8]]), undefined);
    assert.match(
      weightShapeMismatch([[4, 8], [8]], [[4, 16], [16]]) ?? '',
      /weight 0 is \[4, 8\], this model's \[4, 16\]/,
    );
    assert.match(weightShapeMismatch([[4, 8]], [[4, 8], [8]]) ?? '', /1 weight tensors, this model 2/);
  });
});
