/**
 * ONNX export (core/onnx-export.ts) run in onnxruntime-node against the platform's own predict arithmetic
 * (transformRow, the dense forward pass, combinePredictions): every preprocessing choice (imputation, clipping,
 * each scaling, one-hot with unknown categories), classifiers and regressors, and each way an ensemble combines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import type { DatasetSchema, TypedRow } from '../../core/dataset.ts';
import { type DenseActivation, type DenseStep, flatten, forwardPass } from '../../core/dense-forward.ts';
import { type Combiner, combinePredictions } from '../../core/ensemble.ts';
import { ModelExportError } from '../../core/errors.ts';
import { exportOnnx } from '../../core/onnx-export.ts';
import {
  decodeTarget,
  fitPreprocessor,
  imagePreprocessor,
  type PreprocessingOptions,
  type Preprocessor,
  transformRow,
} from '../../core/preprocessor.ts';
import { createRandom, type Random } from '../../core/random.ts';
import { toPredictions } from '../../core/serving.ts';
import { fitStack } from '../../core/stacking.ts';
import { runExport } from '../onnx-exports.ts';

const COLOURS = ['blue', 'green', 'red'];
const SIZES = ['large', 'medium', 'small', 'tiny'];

function schema(task: 'classification' | 'regression', names = ['width', 'depth', 'colour', 'size']) {
  return {
    kind: 'tabular',
    task,
    label: 'target',
    features: [
      { name: names[0], type: 'numeric' },
      { name: names[1], type: 'numeric' },
      { name: names[2], type: 'categorical' },
      { name: names[3], type: 'categorical' },
    ],
    classes: task === 'classification' ? ['a', 'b', 'c'] : [],
    rowCount: 0,
  } as DatasetSchema;
}

/** Rows with unknown cells (null) in every column and outliers in the numeric ones. */
function rows(random: Random, count: number, names = ['width', 'depth', 'colour', 'size']): TypedRow[] {
  return Array.from({ length: count }, (_, i) => {
    const missing = (p: number) => random() < p;
    return {
      [names[0] as string]: missing(0.1) ? null : (random() - 0.3) * 40 + (i % 17 === 0 ? 500 : 0),
      [names[1] as string]: missing(0.05) ? null : 1000 + random() * 3,
      [names[2] as string]: missing(0.1) ? null : (COLOURS[Math.floor(random() * 3)] as string),
      [names[3] as string]: missing(0.2) ? null : (SIZES[Math.floor(random() * 4)] as string),
      target: String(random()),
    };
  });
}

function layers(random: Random, sizes: readonly number[], activations: readonly DenseActivation[]) {
  return activations.map((activation, i): DenseStep => {
    const inputs = sizes[i] as number;
    const units = sizes[i + 1] as number;
    const weights = (n: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * 1.5);
    return { inputs, units, activation, kernel: weights(inputs * units), bias: weights(units) };
  });
}

/** The platform's outputs for typed rows: preprocessing, each member's pass, the ensemble's combination. */
function ours(
  pre: Preprocessor,
  members: readonly DenseStep[][],
  data: readonly TypedRow[],
  ensemble?: Combiner,
) {
  const x = flatten(data.map((row) => transformRow(pre, row)));
  const outputs = members.map((steps) => forwardPass(steps)(x));
  return ensemble ? combinePredictions(ensemble, outputs) : (outputs[0] as number[][]);
}

function assertClose(actual: ArrayLike<number>, expected: readonly (readonly number[])[], tolerance = 1e-5) {
  const flat = expected.flat();
  assert.equal(actual.length, flat.length);
  let worst = 0;
  for (let i = 0; i < flat.length; i++)
    worst = Math.max(worst, Math.abs((actual[i] as number) - (flat[i] as number)));
  assert.ok(worst <= tolerance, `largest difference ${worst}`);
}

function classifier(seed: number, options: PreprocessingOptions) {
  const random = createRandom(seed);
  const train = rows(random, 300);
  const pre = fitPreprocessor(schema('classification'), train, options);
  return { random, pre, test: rows(random, 120) };
}

describe('ONNX export', () => {
  it('answers what the predict path answers, for every preprocessing choice', async () => {
    const choices: PreprocessingOptions[] = [
      {},
      { impute: 'median', scale: 'minmax', clip: 'percentile' },
      { impute: 'most-frequent', scale: 'robust', clip: 'iqr', unknown: 'zeros' },
      { scale: 'none' },
    ];
    for (const [i, options] of choices.entries()) {
      const { random, pre, test } = classifier(10 + i, options);
      const steps = layers(random, [pre.width, 8, 6, 3], ['relu', 'tanh', 'softmax']);
      const bytes = exportOnnx({ model: 'shapes', version: i + 1, preprocessor: pre, members: [steps] });
      const out = await runExport(bytes, test);
      const expected = ours(pre, [steps], test);
      assertClose(out.probabilities?.data as Float32Array, expected);
      assert.deepEqual(
        out.label?.data,
        toPredictions(pre.classes, expected).map((p) => ('label' in p ? p.label : '')),
        JSON.stringify(options),
      );
    }
  });

  it("encodes a category it never saw as zeros under the 'zeros' rule, and refuses it under 'error'", async () => {
    const lenient = classifier(3, { unknown: 'zeros', impute: 'most-frequent' });
    const steps = layers(lenient.random, [lenient.pre.width, 4, 3], ['sigmoid', 'softmax']);
    const unseen = lenient.test.slice(0, 5).map((row) => ({ ...row, colour: 'purple' }));
    const bytes = exportOnnx({ model: 'shapes', version: 1, preprocessor: lenient.pre, members: [steps] });
    assertClose(
      (await runExport(bytes, unseen)).probabilities?.data as Float32Array,
      ours(lenient.pre, [steps], unseen),
    );

    const strict = classifier(4, {});
    const strictSteps = layers(strict.random, [strict.pre.width, 3], ['softmax']);
    const strictBytes = exportOnnx({
      model: 'shapes',
      version: 2,
      preprocessor: strict.pre,
      members: [strictSteps],
    });
    await assert.rejects(runExport(strictBytes, unseen), /nimbus\/colour\/one_hot.*Unknown Category/is);
  });

  it("answers a regressor's values in the target's units", async () => {
    const random = createRandom(21);
    const train = rows(random, 200).map((row, i) => ({ ...row, target: String(50_000 + i * 37.5) }));
    const pre = fitPreprocessor(schema('regression'), train, { clip: 'iqr' });
    const steps = layers(random, [pre.width, 5, 1], ['sigmoid', 'linear']);
    const test = rows(random, 80);
    const out = await runExport(
      exportOnnx({ model: 'prices', version: 1, preprocessor: pre, members: [steps] }),
      test,
    );
    assert.deepEqual(out.value?.dims, [80, 1]);
    const expected = ours(pre, [steps], test).map((row) => [decodeTarget(pre, row[0] as number)]);
    // The target is around 55,000: 1e-5 of its spread.
    assertClose(out.value?.data as Float64Array, expected, (pre.target?.std ?? 1) * 1e-5);
  });

  it('combines an ensemble as the platform does: average, vote, and a stack of either kind', async () => {
    const { random, pre, test } = classifier(31, { impute: 'median' });
    const members = [0, 1, 2].map(() => layers(random, [pre.width, 6, 3], ['relu', 'softmax']));
    const validation = rows(random, 60);
    const labels = validation.map((_, i) => i % 3);
    const memberOutputs = members.map((steps) =>
      forwardPass(steps)(flatten(validation.map((row) => transformRow(pre, row)))),
    );
    const ensembles: Combiner[] = [
      { method: 'average' },
      { method: 'vote' },
      { method: 'stack', stack: fitStack('logistic', memberOutputs, labels, 1) },
    ];
    for (const ensemble of ensembles) {
      const bytes = exportOnnx({ model: 'shapes', version: 7, preprocessor: pre, members, ensemble });
      const out = await runExport(bytes, test);
      assertClose(out.probabilities?.data as Float32Array, ours(pre, members, test, ensemble), 1e-5);
    }

    const train = rows(random, 200).map((row, i) => ({ ...row, target: String(i % 23) }));
    const rpre = fitPreprocessor(schema('regression'), train);
    const regressors = [0, 1].map(() => layers(random, [rpre.width, 4, 1], ['tanh', 'linear']));
    const rx = flatten(validation.map((row) => transformRow(rpre, row)));
    const targets = validation.map((_, i) => (i % 5) / 2 - 1);
    const ridge: Combiner = {
      method: 'stack',
      stack: fitStack(
        'ridge',
        regressors.map((steps) => forwardPass(steps)(rx)),
        targets,
        0.5,
      ),
    };
    const out = await runExport(
      exportOnnx({ model: 'prices', version: 2, preprocessor: rpre, members: regressors, ensemble: ridge }),
      test,
    );
    const expected = ours(rpre, regressors, test, ridge).map((row) => [decodeTarget(rpre, row[0] as number)]);
    assertClose(out.value?.data as Float64Array, expected, (rpre.target?.std ?? 1) * 1e-5);
  });

  it('says what it holds: inputs named as the features, outputs that make way for a feature of their name', async () => {
    const names = ['label', 'output_label', 'probabilities', 'size'];
    const random = createRandom(5);
    const pre = fitPreprocessor(schema('classification', names), rows(random, 100, names));
    const steps = layers(random, [pre.width, 3], ['softmax']);
    const bytes = exportOnnx({ model: 'shapes', version: 3, preprocessor: pre, members: [steps] });
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    assert.deepEqual(
      model.graph?.input?.map((i) => i.name),
      names,
    );
    assert.deepEqual(
      model.graph?.output?.map((o) => o.name),
      ['output_probabilities', 'output_output_label'],
    );
    const meta = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
    assert.equal(meta['nimbus.classes'], JSON.stringify(['a', 'b', 'c']));
    assert.equal(model.producerName, 'nimbus-ml');
    for (const node of model.graph?.node ?? []) {
      for (const name of node.output ?? [])
        assert.ok(name.startsWith('nimbus/') || name.startsWith('output_'), name);
    }
    const out = await runExport(bytes, rows(random, 10, names));
    assert.equal(out.output_output_label?.dims[0], 10);
  });

  it('grows with the categories, not their square: a feature of 1,000 categories', async () => {
    const random = createRandom(8);
    const cities = Array.from({ length: 1000 }, (_, i) => `city-${i}`);
    const wide = {
      ...schema('classification'),
      features: [
        { name: 'width', type: 'numeric' },
        { name: 'city', type: 'categorical' },
      ],
    } as DatasetSchema;
    const train = cities.map((city, i) => ({ width: i, city, target: 'a' }));
    const pre = fitPreprocessor(wide, train, { impute: 'most-frequent' });
    assert.equal(pre.width, 1001);
    const steps = layers(random, [pre.width, 3], ['softmax']);
    const bytes = exportOnnx({ model: 'cities', version: 1, preprocessor: pre, members: [steps] });
    // The kernel is 12 KB and the names 9 KB; a one-hot matrix of the categories' square would be 4 MB.
    assert.ok(bytes.byteLength < 64 * 1024, `${bytes.byteLength} bytes`);
    const test = [
      { width: 3, city: 'city-17' },
      { width: null, city: null },
      { width: 999, city: 'city-999' },
    ];
    assertClose((await runExport(bytes, test)).probabilities?.data as Float32Array, ours(pre, [steps], test));
  });

  it('refuses an image model and a model that is not dense, saying so', () => {
    const image = imagePreprocessor(['0', '1'], { width: 8, height: 8, channels: 1 });
    assert.throws(
      () => exportOnnx({ model: 'digits', version: 1, preprocessor: image, members: [undefined] }),
      (error: Error) => error instanceof ModelExportError && /image model/.test(error.message),
    );
    const { pre } = classifier(1, {});
    assert.throws(
      () => exportOnnx({ model: 'shapes', version: 1, preprocessor: pre, members: [undefined] }),
      (error: Error) => error instanceof ModelExportError && /not a dense model/.test(error.message),
    );
  });
});
