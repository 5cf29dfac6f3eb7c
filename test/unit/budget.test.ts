/**
 * Bounded training cost, in core/: the training budget (the platform's, lowered by a manifest), the parameter
 * count of a model before it is built (as tfjs counts it), and the training loop's deadline, which keeps the
 * best epoch. The bounds of the manifest's fields: bounds.test.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as tf from '@tensorflow/tfjs';
import {
  checkParameterBudget,
  countParameters,
  DEFAULT_TRAINING_BUDGET,
  jobBudget,
  jobMinutes,
  type ModelInput,
  parseTrainingBudget,
  runBudget,
  TRAINING_BUDGET_BOUNDS,
  TRAINING_TIMEOUT_MARGIN_SECONDS,
  TrainingBudgetError,
} from '../../core/budget.ts';
import { TRAINING_RETRY } from '../../core/contract.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import { DEFAULT_CNN, DEFAULT_MLP, withOverrides } from '../../core/hyperparameters.ts';
import { buildCnn, buildMlp } from '../../core/model-builders.ts';
import type { LabelledData } from '../../core/model-data.ts';
import { trainModel } from '../../core/model-training.ts';
import { failureReason } from '../../core/pipeline.ts';
import { createRandom } from '../../core/random.ts';
import { gridPoints } from '../../core/search-sampling.ts';
import { largestTrial, parseSearchSpec } from '../../core/search-spec.ts';
import { suggestTrials } from '../../core/search-trials.ts';
import { selectBackend } from '../../core/tfjs.ts';

const mlp = { architecture: 'mlp' as const, ...DEFAULT_MLP };
const cnn = { architecture: 'cnn' as const, ...DEFAULT_CNN };
const invalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof DatasetValidationError && pattern.test(error.message);
const iris: ModelInput = { kind: 'features', width: 4, classes: 3, task: 'classification' };

describe('the training budget', () => {
  it('defaults to 60 minutes and 10 M parameters, and a platform may set either within its bounds', () => {
    assert.deepEqual(parseTrainingBudget(undefined), {
      minutes: 60,
      parameters: 10_000_000,
      runMinutes: 240,
    });
    assert.deepEqual(parseTrainingBudget({ minutes: 0.5 }), {
      minutes: 0.5,
      parameters: 10_000_000,
      runMinutes: 240,
    });
    assert.throws(
      () => parseTrainingBudget({ minutes: 2000 }),
      /^Error: trainingBudget\.minutes must be a number from 0\.01 to 1440 \(got 2000\)$/,
    );
    assert.throws(
      () => parseTrainingBudget({ parameters: 1.5 }),
      /trainingBudget\.parameters must be a whole number/,
    );
    assert.throws(() => parseTrainingBudget({ hours: 1 }), /trainingBudget has no field hours/);
    assert.equal(TRAINING_BUDGET_BOUNDS.minutes.max, 24 * 60);
  });

  it('is lowered by a manifest, and never raised: a value above the platform names the field and its bound', () => {
    const platform = { minutes: 30, parameters: 500_000, runMinutes: 120 };
    assert.deepEqual(runBudget(platform, undefined), platform);
    assert.deepEqual(runBudget(platform, { minutes: 0.25 }), { ...platform, minutes: 0.25 });
    assert.deepEqual(runBudget(platform, { parameters: 1000 }), { ...platform, parameters: 1000 });
    assert.deepEqual(runBudget(platform, { runMinutes: 60 }), { ...platform, runMinutes: 60 });
    assert.throws(
      () => runBudget(platform, { runMinutes: 121 }),
      invalid(/budget\.runMinutes 121 is above the platform's/),
    );
    assert.throws(
      () => runBudget(platform, { minutes: 45 }),
      invalid(
        /^manifest budget\.minutes 45 is above the platform's training budget \(trainingBudget\.minutes: 30\); a manifest may only lower it$/,
      ),
    );
    assert.throws(
      () => runBudget(platform, { parameters: 600_000 }),
      invalid(
        /budget\.parameters 600000 is above the platform's training budget \(trainingBudget\.parameters: 500000\)/,
      ),
    );
  });

  it("shares a run's minutes among a search's trials: each at most its job's minutes and its share", () => {
    const budget = { minutes: 60, parameters: 1, runMinutes: 240 };
    assert.equal(jobMinutes(budget, 1), 60);
    assert.equal(jobMinutes(budget, 4), 60);
    assert.equal(jobMinutes(budget, 100), 2.4);
    assert.equal(jobMinutes({ ...budget, runMinutes: 30 }, 1), 30);
    // 100 trials of the defaults cost at most the run's 240 minutes, not 100 hours.
    assert.ok(jobMinutes(budget, 100) * 100 <= budget.runMinutes);
  });

  it('derives the hard timeouts: the budget plus a margin per attempt, every attempt plus waiting for capacity', () => {
    const hour = jobBudget(DEFAULT_TRAINING_BUDGET);
    assert.equal(hour.attemptSeconds, 3600 + TRAINING_TIMEOUT_MARGIN_SECONDS);
    assert.ok(hour.waitSeconds > hour.attemptSeconds, 'SageMaker waits at least as long as it runs');
    assert.ok(hour.taskSeconds >= TRAINING_RETRY.attempts * hour.attemptSeconds);
    assert.ok(hour.taskSeconds >= hour.waitSeconds, 'the Task outlives the job it waits for');
    // Whole seconds, never under Batch's minimum of 60, and shorter for a smaller budget.
    const tiny = jobBudget({ minutes: 0.01, parameters: 1, runMinutes: 1 });
    assert.ok(Number.isInteger(tiny.attemptSeconds) && tiny.attemptSeconds >= 60);
    assert.ok(tiny.attemptSeconds < hour.attemptSeconds && tiny.taskSeconds < hour.taskSeconds);
    assert.ok(jobBudget({ minutes: 24 * 60, parameters: 1, runMinutes: 24 * 60 }).attemptSeconds > 24 * 3600);
  });
});

describe('counting parameters before training', () => {
  before(() => selectBackend('cpu'));

  const built = (model: tf.LayersModel) => {
    const count = model.countParams();
    model.dispose();
    return count;
  };

  it('counts what tfjs counts for the MLP: classifier, regressor, no hidden layer, dropout', () => {
    const cases: [ModelInput & { kind: 'features' }, Partial<typeof DEFAULT_MLP>][] = [
      [iris, {}],
      [{ kind: 'features', width: 13, classes: 3, task: 'classification' }, { hiddenUnits: [64, 32, 8] }],
      [{ kind: 'features', width: 10, classes: 0, task: 'regression' }, { hiddenUnits: [7] }],
      [
        { kind: 'features', width: 5, classes: 2, task: 'classification' },
        { hiddenUnits: [], dropout: 0 },
      ],
      [
        { kind: 'features', width: 30, classes: 4, task: 'classification' },
        { hiddenUnits: [3, 5], weightDecay: 0.1 },
      ],
    ];
    for (const [input, overrides] of cases) {
      const hp = { ...DEFAULT_MLP, ...overrides };
      const expected = built(buildMlp(input.width, input.classes, hp, input.task));
      assert.equal(
        countParameters({ architecture: 'mlp', ...hp }, input),
        expected,
        JSON.stringify(overrides),
      );
    }
  });

  it('counts what tfjs counts for the CNN: blocks, convolutions per block, kernels, odd sizes, dense heads', () => {
    const cases: [ModelInput & { kind: 'image' }, Partial<typeof DEFAULT_CNN>][] = [
      [{ kind: 'image', height: 28, width: 28, channels: 1, classes: 10 }, {}],
      [{ kind: 'image', height: 64, width: 64, channels: 3, classes: 2 }, {}],
      [
        { kind: 'image', height: 15, width: 13, channels: 3, classes: 4 },
        { blockFilters: [4, 8, 6], convsPerBlock: 2, kernelSize: 5, denseUnits: [16, 8] },
      ],
      [
        { kind: 'image', height: 9, width: 20, channels: 1, classes: 3 },
        { blockFilters: [5], denseUnits: [] },
      ],
    ];
    for (const [input, overrides] of cases) {
      const hp = { ...DEFAULT_CNN, ...overrides };
      const expected = built(buildCnn([input.height, input.width, input.channels], input.classes, hp));
      assert.equal(
        countParameters({ architecture: 'cnn', ...hp }, input),
        expected,
        JSON.stringify(overrides),
      );
    }
    // A block that would get maps too small to pool: refused at planning, as buildCnn refuses it.
    const tiny: ModelInput = { kind: 'image', height: 4, width: 4, channels: 1, classes: 2 };
    assert.throws(
      () => countParameters({ ...cnn, blockFilters: [2, 2, 2, 2] }, tiny),
      (e: unknown) =>
        e instanceof TrainingBudgetError && /block 3 .* gets 1×1 maps/.test((e as Error).message),
    );
  });

  it('refuses [4096, 4096, 4096, 4096] hidden units: over the default budget, naming the count and the budget', () => {
    const hp = withOverrides(mlp, { hiddenUnits: [4096, 4096, 4096, 4096] });
    const count = countParameters(hp, iris);
    assert.equal(count, 4 * 4096 + 4096 + 3 * (4096 * 4096 + 4096) + 4096 * 3 + 3);
    assert.throws(
      () => checkParameterBudget(hp, iris, DEFAULT_TRAINING_BUDGET.parameters),
      (e: unknown) =>
        e instanceof TrainingBudgetError &&
        e.message ===
          `the model (hiddenUnits [4096,4096,4096,4096]) has ${count.toLocaleString('en-US')} trainable ` +
            'parameters, over the training budget of 10,000,000 parameters',
    );
    assert.equal(
      checkParameterBudget(mlp, iris, DEFAULT_TRAINING_BUDGET.parameters),
      countParameters(mlp, iris),
    );
  });

  it("finds a search's largest model at the corners of its space: no trial it plans is larger", () => {
    const images: ModelInput = { kind: 'image', height: 32, width: 32, channels: 3, classes: 5 };
    const space = {
      blockFilters: { choice: [[8], [16, 32], [64, 64, 64]] },
      convsPerBlock: { int: [1, 3] },
      kernelSize: { int: [3, 7] },
      denseUnits: { choice: [[], [32], [128]] },
      dropout: { uniform: [0, 0.5] },
    };
    const grid = parseSearchSpec({ strategy: 'grid', trials: 100, space }, cnn);
    const largest = largestTrial(grid, cnn, images);
    const counts = gridPoints(grid.space).map((p) => countParameters(withOverrides(cnn, p), images));
    assert.equal(largest.parameters, Math.max(...counts));
    assert.equal(largest.parameters, countParameters(largest.hyperparameters, images));
    const random = parseSearchSpec({ strategy: 'random', trials: 40, seed: 5, space }, cnn);
    for (const trial of suggestTrials(random, [])) {
      assert.ok(countParameters(withOverrides(cnn, trial), images) <= largest.parameters);
    }
    // Without a size hyperparameter in the space, every trial is the size of the base.
    const plain = parseSearchSpec({ space: { dropout: { uniform: [0, 0.5] } } }, mlp);
    assert.equal(largestTrial(plain, mlp, iris).parameters, countParameters(mlp, iris));
  });

  it("reads a SageMaker job's stop for its runtime as the reason of the run", () => {
    const cause = JSON.stringify({
      TrainingJobName: 'nimbus-r-t0',
      TrainingJobStatus: 'Stopped',
      SecondaryStatus: 'MaxRuntimeExceeded',
    });
    assert.equal(
      failureReason({ Error: 'States.TaskFailed', Cause: cause }),
      'training job nimbus-r-t0 stopped: MaxRuntimeExceeded',
    );
  });
});

describe('the time budget in the training loop', () => {
  before(() => selectBackend('wasm'));

  /** Two noisy blobs in 4-D. */
  function blobs(n: number, seed: number): LabelledData {
    const random = createRandom(seed);
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    return {
      x: Float32Array.from(labels.flatMap((l) => Array.from({ length: 4 }, () => l + random()))),
      labels,
    };
  }
  const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

  /**
   * Trains with a clock that runs out after the first batch of epoch `expireIn` (the deadline is 1: the clock
   * reads 0 until then), keeping each complete epoch's weights to compare with.
   */
  async function trainUntil(expireIn: number, validation: boolean) {
    const data = blobs(64, 1);
    const hp = {
      ...mlp,
      epochs: 50,
      batchSize: 16,
      learningRate: 0.3,
      hiddenUnits: [8],
    };
    const model = buildMlp(4, 2, hp);
    const snapshots = new Map<number, number[][]>();
    let calls = 0;
    let expireAt = Number.POSITIVE_INFINITY;
    const result = await trainModel(model, data, validation ? blobs(32, 2) : undefined, hp, {
      deadline: 1,
      now: () => (++calls >= expireAt ? 1 : 0),
      onEpoch: (log) => {
        snapshots.set(log.epoch, weightsOf(model));
        // The next call is the check before the next epoch; the one after it, after that epoch's first batch.
        if (log.epoch === expireIn - 1) expireAt = calls + 2;
      },
    });
    const weights = weightsOf(model);
    model.dispose();
    return { result, snapshots, weights };
  }

  it('stops after the batch in progress, drops the cut epoch and keeps the weights of the best validation loss', async () => {
    const { result, snapshots, weights } = await trainUntil(6, true);
    assert.deepEqual(
      result.history.map((log) => log.epoch),
      [1, 2, 3, 4, 5],
      'the epoch cut short is not in the history',
    );
    const losses = result.history.map((log) => log.validationLoss as number);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    assert.deepEqual(result.stoppedOnBudget, { bestEpoch: best });
    assert.deepEqual(weights, snapshots.get(best), "the model has the best epoch's weights");
    assert.equal(result.stoppedEarly, undefined);
  });

  it('without validation data keeps the last complete epoch, and always trains one epoch', async () => {
    const { result, snapshots, weights } = await trainUntil(4, false);
    assert.equal(result.history.length, 3);
    assert.deepEqual(result.stoppedOnBudget, { bestEpoch: 3 });
    assert.deepEqual(weights, snapshots.get(3));
    // A deadline already past when training starts: the first epoch still trains, then it stops.
    const data = blobs(32, 3);
    const model = buildMlp(4, 2, { ...mlp, epochs: 10 });
    const early = await trainModel(model, data, data, { ...mlp, epochs: 10 }, { deadline: 0, now: () => 1 });
    model.dispose();
    assert.equal(early.history.length, 1);
    assert.deepEqual(early.stoppedOnBudget, { bestEpoch: 1 });
  });

  it('trains every epoch when the deadline does not come', async () => {
    const data = blobs(32, 4);
    const hp = { ...mlp, epochs: 4 };
    const model = buildMlp(4, 2, hp);
    const done = await trainModel(model, data, data, hp, { deadline: 1, now: () => 0 });
    model.dispose();
    assert.equal(done.history.length, 4);
    assert.equal(done.stoppedOnBudget, undefined);
  });
});
