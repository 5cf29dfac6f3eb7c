/**
 * Bounded training cost through the local pipeline: a platform whose training budget is 1 minute and
 * 1,000,000 parameters. A long training stopped by its (manifest-lowered) minutes succeeds with its best
 * epoch; a manifest out of bounds, over the parameter budget or above the platform's budget fails the run at
 * once, naming why, without a training process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { countParameters, jobBudget } from '../../core/budget.ts';
import { ENV } from '../../core/contract.ts';
import { DEFAULT_MLP } from '../../core/hyperparameters.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import { splitData } from '../../core/model-data.ts';
import { deserializeModel } from '../../core/model-files.ts';
import { predictProbabilities } from '../../core/model-inference.ts';
import type { ProcessedSplit, TrainingCard, TrainingJobSpec } from '../../core/pipeline.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { selectBackend } from '../../core/tfjs.ts';
import { childEnvironment } from '../../local/lambda-runtime.ts';
import { localPlatformFixture } from '../helpers.ts';

const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'));
/** iris after preprocessing: four standardized features, three classes. */
const IRIS_INPUT = { kind: 'features', width: 4, classes: 3, task: 'classification' } as const;

describe('the training budget, end to end', () => {
  const local = localPlatformFixture({ trainingBudget: { minutes: 1, parameters: 1_000_000 } });
  /** Per run: the states it entered, and the training processes' progress events. */
  const states = new Map<string, string[]>();
  const training = new Map<string, { event: string; [field: string]: unknown }[]>();
  before(() => {
    local.platform.pipeline.on('step', (e) => {
      if (e.type === 'entered') states.set(e.runId, [...(states.get(e.runId) ?? []), e.state]);
    });
    local.platform.pipeline.on('training', (e) => {
      training.set(e.runId, [...(training.get(e.runId) ?? []), e]);
    });
  });

  const bytes = async (key: string) => {
    const { client } = local;
    const out = await client.s3.send(
      new GetObjectCommand({ Bucket: client.endpoints.artifactsBucket, Key: key }),
    );
    return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  };

  /** Uploads a manifest and iris under `name`, and waits for the run to end. */
  const run = async (name: string, manifest: unknown) => {
    const { client } = local;
    await client.upload(KEYS.manifest(name), JSON.stringify(manifest));
    await client.upload(`datasets/${name}/iris.csv`, IRIS);
    const [finished] = await client.waitForRuns(name, 1);
    assert.ok(finished);
    return finished;
  };

  /** The run failed with a reason matching `reason`, and no training job was submitted for it. */
  const failedBeforeTraining = (
    finished: Awaited<ReturnType<typeof run>>,
    reason: RegExp,
    failedIn: 'RegisterDataset' | 'Preprocess' | 'PlanTrials',
  ) => {
    assert.equal(finished.status, 'FAILED');
    assert.match(finished.reason ?? '', reason);
    const entered = states.get(finished.runId) ?? [];
    assert.equal(entered[entered.indexOf('MarkFailed') - 1], failedIn, entered.join(' → '));
    assert.ok(!entered.includes('TrainOnBatch'), 'no training job submitted');
    assert.equal(training.get(finished.runId), undefined, 'no training process started');
  };

  it("stops a long training when the manifest's fewer minutes are spent, succeeds and serves the best epoch", async () => {
    // One-row batches of 10,000 epochs: hours of training, in a budget of 0.1 minute (lowered from 1).
    const finished = await run('stamina', {
      budget: { minutes: 0.1 },
      hyperparameters: { epochs: 10_000, batchSize: 1, patience: 0, learningRate: 0.05 },
    });
    assert.equal(finished.status, 'SUCCEEDED', finished.reason);
    const stop = finished.training?.stoppedOnBudget;
    assert.ok(stop, `the run says the budget stopped training: ${JSON.stringify(finished.training)}`);
    assert.equal(stop.minutes, 0.1);
    assert.ok((finished.training?.epochs ?? 0) >= 1 && (finished.training?.epochs ?? 0) < 10_000);
    assert.ok(
      training.get(finished.runId)?.some((e) => e.event === 'budget' && e.bestEpoch === stop.bestEpoch),
      'the trainer said so as it stopped',
    );

    // The card: every epoch trained, and the best of them (lowest validation loss) is the model's.
    const prefix = KEYS.modelPrefix('stamina', finished.runId);
    const card = await local.client.artifactJson<TrainingCard>(prefix + ARTIFACTS.card);
    assert.deepEqual(card.training.stoppedOnBudget, stop);
    assert.equal(card.history.length, finished.training?.epochs);
    const losses = card.history.map((log) => log.validationLoss as number);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    assert.equal(stop.bestEpoch, best);
    assert.equal(stop.bestValidationLoss, losses[best - 1]);
    assert.deepEqual(card.training.final, card.history[best - 1]);

    // The saved model is that epoch's: its cross-entropy on the validation split is the recorded best.
    await selectBackend('wasm');
    const model = await deserializeModel({
      modelJson: await local.client.artifactJson<Record<string, unknown>>(prefix + ARTIFACTS.modelJson),
      weights: await bytes(prefix + ARTIFACTS.weights),
    });
    const split = await local.client.artifactJson<ProcessedSplit>(
      KEYS.data('stamina', finished.runId, 'validation.json'),
    );
    const validation = await splitData(split, bytes);
    const probabilities = predictProbabilities(model, validation.x);
    model.dispose();
    const epsilon = 1e-7;
    const loss =
      validation.labels.reduce((sum, label, i) => {
        const p = probabilities[i]?.[label] ?? 0;
        return sum - Math.log(Math.min(1 - epsilon, Math.max(epsilon, p)));
      }, 0) / validation.labels.length;
    assert.ok(
      Math.abs(loss - (stop.bestValidationLoss ?? Number.NaN)) < 1e-4,
      `${loss} vs ${stop.bestValidationLoss}`,
    );
    assert.ok((finished.metrics?.accuracy ?? 0) > 0.5, 'the best epoch serves and evaluates');
  });

  it('fails a manifest out of bounds where it is read, naming the field, the bound and the value', async () => {
    const cases: [string, unknown, RegExp][] = [
      [
        'zero-batch',
        { batchSize: 0 },
        /hyperparameters\.batchSize must be a whole number from 1 to 4096 \(got 0\)/,
      ],
      [
        'eon',
        { epochs: 1e9 },
        /hyperparameters\.epochs must be a whole number from 1 to 10000 \(got 1000000000\)/,
      ],
      [
        'giant-layer',
        { hiddenUnits: [1e9] },
        /hyperparameters\.hiddenUnits must be a list of 0 to 8 whole numbers, each from 1 to 4096 \(got \[1000000000\]\)/,
      ],
    ];
    const finished = await Promise.all(
      cases.map(([name, hyperparameters]) => run(name, { hyperparameters })),
    );
    cases.forEach(([name, , reason], i) => {
      const one = finished[i] as Awaited<ReturnType<typeof run>>;
      failedBeforeTraining(
        one,
        new RegExp(`datasets/${name}/dataset\\.json is not a valid manifest: .*${reason.source}`),
        'RegisterDataset',
      );
    });
  });

  it('fails at planning a model over the parameter budget, and a search whose largest model is, naming count and budget', async () => {
    const wide = [4096, 4096, 4096, 4096];
    const count = countParameters({ architecture: 'mlp', ...DEFAULT_MLP, hiddenUnits: wide }, IRIS_INPUT);
    const tooWide = await run('too-wide', { hyperparameters: { hiddenUnits: wide } });
    failedBeforeTraining(
      tooWide,
      new RegExp(
        `^TrainingBudgetError: the model \\(hiddenUnits \\[4096,4096,4096,4096\\]\\) has ${count.toLocaleString('en-US')} ` +
          'trainable parameters, over the training budget of 1,000,000 parameters$',
      ),
      'PlanTrials',
    );
    const largest = countParameters(
      { architecture: 'mlp', ...DEFAULT_MLP, hiddenUnits: [1024, 1024] },
      IRIS_INPUT,
    );
    const search = await run('too-wide-search', {
      search: { trials: 4, space: { hiddenUnits: { choice: [[8], [1024, 1024]] } } },
    });
    failedBeforeTraining(
      search,
      new RegExp(
        `the search's largest model \\(hiddenUnits \\[1024,1024\\]\\) has ${largest.toLocaleString('en-US')} ` +
          'trainable parameters, over the training budget of 1,000,000 parameters',
      ),
      'PlanTrials',
    );
  });

  it("refuses a manifest budget above the platform's, naming the field and the platform's bound", async () => {
    const finished = await run('greedy', { budget: { minutes: 5 } });
    failedBeforeTraining(
      finished,
      /manifest budget\.minutes 5 is above the platform's training budget \(trainingBudget\.minutes: 1\); a manifest may only lower it/,
      'Preprocess',
    );
  });

  it('has the trainer itself refuse a model over its budget, before it trains', async () => {
    const finished = await run('small', { hyperparameters: { epochs: 1 } });
    assert.equal(finished.status, 'SUCCEEDED', finished.reason);
    // The run's own job, with a budget of 10 parameters: what a spec built elsewhere could ask for.
    const card = await local.client.artifactJson<TrainingCard>(
      KEYS.modelPrefix('small', finished.runId) + ARTIFACTS.card,
    );
    const { runId, hyperparameters } = card.lineage;
    const spec: TrainingJobSpec = {
      runId,
      trial: 0,
      model: 'small',
      bucket: local.client.endpoints.artifactsBucket,
      trainKey: KEYS.data('small', runId, 'train.json'),
      validationKey: KEYS.data('small', runId, 'validation.json'),
      modelPrefix: `${KEYS.runPrefix('small', runId)}refused/`,
      hyperparameters: hyperparameters as unknown as TrainingJobSpec['hyperparameters'],
      budget: jobBudget({ minutes: 1, parameters: 10, runMinutes: 1 }),
      lineage: card.lineage,
    };
    const count = countParameters(spec.hyperparameters, IRIS_INPUT);
    const refused = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join('containers', 'training', 'main.ts')],
      {
        cwd: REPO_ROOT,
        env: { ...childEnvironment(), [ENV.trainingJob]: JSON.stringify(spec) },
        timeout: 600_000,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr.trim().split('\n').pop(),
      `TrainingBudgetError: the model has ${count.toLocaleString('en-US')} trainable parameters, over the ` +
        'training budget of 10 parameters',
    );
  });
});
