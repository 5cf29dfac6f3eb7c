/**
 * Cross-validation through the local pipeline: `validation: { folds: 3 }` cross-validates every trial of a
 * search on the training split, ranks the trials by their folds' mean, writes mean ± sd of every metric in
 * metrics.json and the registry, and a gate `on: "cv"` compares those means.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runLines } from '../../cli/commands/runs.ts';
import type { RunRecord } from '../../core/api-types.ts';
import type { CrossValidationSummary } from '../../core/cross-validation.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import type { ModelMetrics } from '../../core/metrics.ts';
import type { TrainingCard } from '../../core/pipeline.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { localPlatformFixture } from '../helpers.ts';

const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'), 'utf8');
const MODEL = 'irises-cv';

describe('cross-validation, end to end', () => {
  const local = localPlatformFixture();

  it('cross-validates each trial, ranks trials by the folds, records mean ± sd, and gates on the means', async () => {
    const { client } = local;
    const folds: number[] = [];
    local.platform.pipeline.on('training', (e) => {
      if (e.event === 'fold') folds.push((e as unknown as { fold: number }).fold);
    });
    const manifest = {
      validation: { folds: 3 },
      hyperparameters: { epochs: 25, hiddenUnits: [16] },
      search: {
        strategy: 'random',
        trials: 2,
        parallel: 2,
        space: { learningRate: { logUniform: [0.005, 0.05] } },
      },
      gate: { on: 'cv' },
    };
    await client.upload(`datasets/${MODEL}/dataset.json`, JSON.stringify(manifest));
    await client.upload(`datasets/${MODEL}/iris.csv`, IRIS);
    const [run] = await client.waitForRuns(MODEL, 1);
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    assert.deepEqual(folds.sort(), [1, 1, 2, 2, 3, 3], 'three folds for each of the two trials');

    // Each trial is ranked by its folds' mean validation loss, not by its validation split.
    const trials = await client.trials(run.runId);
    assert.equal(trials.length, 2);
    for (const trial of trials) {
      const card = await client.artifactJson<TrainingCard>(`${trial.modelPrefix}${ARTIFACTS.card}`);
      const cv = card.crossValidation as CrossValidationSummary;
      assert.equal(cv.folds, 3);
      assert.equal(cv.perFold.length, 3);
      assert.equal(trial.score, cv.mean.loss);
      assert.notEqual(trial.score, card.training.final?.validationLoss);
    }

    // metrics.json: every figure's mean and sd over the folds, beside the test split's figures.
    const written = await client.artifactJson<{
      test: ModelMetrics;
      crossValidation: CrossValidationSummary;
    }>(KEYS.modelPrefix(MODEL, run.runId) + ARTIFACTS.metrics);
    const cv = written.crossValidation;
    const accuracies = cv.perFold.map((f) => f.accuracy as number);
    const mean = accuracies.reduce((a, b) => a + b, 0) / 3;
    assert.ok(Math.abs((cv.mean.accuracy as number) - mean) < 1e-12);
    const sd = Math.sqrt(accuracies.reduce((a, v) => a + (v - mean) ** 2, 0) / 3);
    assert.ok(Math.abs((cv.sd.accuracy as number) - sd) < 1e-12);
    for (const name of ['loss', 'accuracy', 'macroF1', 'weightedF1', 'rocAuc', 'logLoss']) {
      assert.ok(Number.isFinite(cv.mean[name]) && Number.isFinite(cv.sd[name]), name);
    }
    assert.ok((cv.mean.accuracy as number) > 0.8, `cross-validated accuracy ${cv.mean.accuracy}`);
    assert.equal(cv.rows, 105, "the training split's rows");

    // The registry has the means and sds; the gate of a second run compares them.
    const version = (await client.modelItems(MODEL)).find((i) => i.sk === 'VERSION#000001') as
      | { metrics: ModelMetrics }
      | undefined;
    assert.deepEqual(version?.metrics.crossValidation?.mean, cv.mean);
    // `nimbus runs show` prints them under the test figures.
    const [recorded] = await client.runs(MODEL);
    assert.match(
      runLines(recorded as RunRecord).join('\n'),
      /\n {2}cv \(3 folds\) loss \d\.\d+ ± \d\.\d+ {2}accuracy/,
    );
    const lines = IRIS.trimEnd().split('\n');
    await client.upload(
      `datasets/${MODEL}/iris-2.csv`,
      `${[lines[0], ...lines.slice(1).reverse()].join('\n')}\n`,
    );
    const runs = await client.waitForRuns(MODEL, 2);
    const second = runs.find((r) => r.runId !== run.runId);
    assert.equal(second?.status, 'SUCCEEDED', second?.reason);
    assert.match(second.reason ?? '', /macroF1 .* v1 .*\(cross-validated means, 3 folds\)/);
  });
});
