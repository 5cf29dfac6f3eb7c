/**
 * Hyperparameter search through the local pipeline: a Bayesian search of 8 trials, 2 at a time (rounds of
 * the Map state), every trial recorded, the best one registered, and the top 3 served as one ensemble; a
 * genetic search in generations whose best two are served as a stack; each exported as ONNX answers as the
 * API does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TypedRow } from '../../core/dataset.ts';
import type { EnsembleManifest } from '../../core/ensemble.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import type { Lineage } from '../../core/model-registry.ts';
import type { ProcessedSplit } from '../../core/pipeline.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import type { StackModel } from '../../core/stacking.ts';
import { localPlatformFixture } from '../helpers.ts';
import { assertSameAsPredict, downloadExport, runExport } from '../onnx-exports.ts';

const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'));
const CLASSES = ['setosa', 'versicolor', 'virginica'];
type Classified = { label: string; probabilities: Record<string, number> };

describe('hyperparameter search, end to end', () => {
  const local = localPlatformFixture();

  it('runs 8 Bayesian trials 2 at a time, records each, registers the best and serves a top-3 ensemble', async () => {
    const { client, platform } = local;
    const rounds: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    platform.pipeline.on('step', (e) => {
      if (e.type === 'entered' && e.state === 'RunTrials') rounds.push(e.runId);
    });
    platform.pipeline.on('training', (e) => {
      if (e.event === 'started') mostAtOnce = Math.max(mostAtOnce, ++running);
      if (e.event === 'finished') running--;
    });
    const search = {
      strategy: 'bayesian',
      trials: 8,
      parallel: 2,
      space: {
        learningRate: { logUniform: [0.001, 0.05] },
        hiddenUnits: { choice: [[8], [32, 16]] },
        epochs: { int: [20, 60] },
      },
      ensemble: { size: 3, method: 'average' },
    };
    await client.upload('datasets/irises/dataset.json', JSON.stringify({ search }));
    await client.upload('datasets/irises/iris.csv', IRIS);
    const [run] = await client.waitForRuns('irises', 1);
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    assert.equal(rounds.length, 4, 'four rounds of two trials');
    assert.equal(mostAtOnce, 2);

    const trials = await client.trials(run.runId);
    assert.deepEqual(
      trials.map((t) => [t.trial, t.status]),
      Array.from({ length: 8 }, (_, i) => [i + 1, 'SUCCEEDED']),
    );
    const ranked = [...trials].sort((a, b) => (a.score ?? 0) - (b.score ?? 0) || a.trial - b.trial);
    assert.equal(run.search?.bestTrial, ranked[0]?.trial);
    assert.deepEqual(
      run.search?.ensemble,
      ranked.slice(0, 3).map((t) => t.trial),
    );
    for (const t of trials) {
      assert.ok(
        (t.parameters.learningRate as number) >= 0.001 && (t.parameters.learningRate as number) <= 0.05,
      );
    }

    // The registered version is the search's result: its lineage names the best trial and the ensemble.
    const [version] = (await client.modelItems('irises')).filter((item) =>
      String(item.sk).startsWith('VERSION#'),
    );
    const lineage = version?.lineage as Lineage;
    assert.equal(lineage.search?.bestTrial, ranked[0]?.trial);
    assert.deepEqual(lineage.ensemble?.trials, run.search?.ensemble);
    const best = trials.find((t) => t.trial === ranked[0]?.trial);
    assert.equal(lineage.hyperparameters.learningRate, best?.parameters.learningRate);
    const ensemble = await client.artifactJson<EnsembleManifest>(
      KEYS.modelPrefix('irises', run.runId) + ARTIFACTS.ensemble,
    );
    assert.equal(ensemble.members.length, 3);

    // The ensemble serves: held-out rows over HTTP.
    const heldOut = await client.artifactJson<TypedRow[]>(KEYS.data('irises', run.runId, 'test-rows.json'));
    const response = await client.predict('irises', { instances: heldOut });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: Classified[] };
    const correct = body.predictions.filter((p, i) => p.label === heldOut[i]?.species).length;
    assert.ok(correct / heldOut.length >= 0.9, `ensemble accuracy ${correct}/${heldOut.length}`);
    // Exported as ONNX, the three members and their average answer as the API does.
    const exported = await downloadExport(local.platform.endpoints, 'irises', 1);
    assertSameAsPredict(await runExport(exported, heldOut), body.predictions, CLASSES);
  });

  it('breeds a genetic search in generations and serves a stack of the best with its fitted meta-model', async () => {
    const { client, platform } = local;
    const rounds: string[] = [];
    platform.pipeline.on('step', (e) => {
      if (e.type === 'entered' && e.state === 'RunTrials') rounds.push(e.runId);
    });
    const search = {
      strategy: 'genetic',
      trials: 4,
      population: 2,
      seed: 5,
      space: {
        learningRate: { logUniform: [0.005, 0.05] },
        hiddenUnits: { choice: [[8], [16]] },
        epochs: { int: [20, 40] },
      },
      ensemble: { size: 2, method: 'stack' },
    };
    await client.upload('datasets/stacked/dataset.json', JSON.stringify({ search }));
    await client.upload('datasets/stacked/iris.csv', IRIS);
    const [run] = await client.waitForRuns('stacked', 1);
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    assert.equal(rounds.filter((id) => id === run.runId).length, 2, 'two generations of two');
    assert.equal(run.search?.strategy, 'genetic');
    const trials = await client.trials(run.runId);
    assert.deepEqual(
      trials.map((t) => t.status),
      ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'],
    );

    // The stack's meta-model is in ensemble.json: a logistic regression over 2 members × 3 classes, fitted on
    // every validation row.
    const prefix = KEYS.modelPrefix('stacked', run.runId);
    const ensemble = await client.artifactJson<EnsembleManifest>(prefix + ARTIFACTS.ensemble);
    assert.equal(ensemble.method, 'stack');
    assert.deepEqual(
      ensemble.members.map((m) => m.trial),
      run.search?.ensemble,
    );
    const stack = ensemble.stack as StackModel;
    assert.equal(stack.kind, 'logistic');
    assert.equal(stack.regularization, 1);
    assert.deepEqual(
      stack.coefficients.map((row) => row.length),
      [6, 6, 6],
    );
    const validation = await client.artifactJson<ProcessedSplit>(
      KEYS.data('stacked', run.runId, 'validation.json'),
    );
    assert.equal(stack.rows, 'shards' in validation ? validation.rows : validation.labels.length);
    const [version] = (await client.modelItems('stacked')).filter((item) =>
      String(item.sk).startsWith('VERSION#'),
    );
    assert.equal((version?.lineage as Lineage | undefined)?.ensemble?.method, 'stack');

    // It serves over HTTP, as the meta-model combines the members: held-out rows.
    const heldOut = await client.artifactJson<TypedRow[]>(KEYS.data('stacked', run.runId, 'test-rows.json'));
    const response = await client.predict('stacked', { instances: heldOut });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: Classified[] };
    const correct = body.predictions.filter((p, i) => p.label === heldOut[i]?.species).length;
    assert.ok(correct / heldOut.length >= 0.85, `stack accuracy ${correct}/${heldOut.length}`);
    // Exported as ONNX, the members and the meta-model answer as the API does.
    const exported = await downloadExport(local.platform.endpoints, 'stacked', 1);
    assertSameAsPredict(await runExport(exported, heldOut), body.predictions, CLASSES);
  });

  it('fails the run before training, naming the field, for a search over an unknown hyperparameter', async () => {
    const { client } = local;
    await client.upload(
      'datasets/typo/dataset.json',
      JSON.stringify({ search: { space: { learningRat: { uniform: [0.001, 0.01] } } } }),
    );
    await client.upload('datasets/typo/iris.csv', IRIS);
    const [run] = await client.waitForRuns('typo');
    assert.equal(run?.status, 'FAILED');
    assert.match(run.reason ?? '', /manifest search: space.learningRat is not a mlp hyperparameter/);
  });
});
