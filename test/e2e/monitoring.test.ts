/**
 * Monitoring on the local platform: predictions write EMF metrics, the drift monitor compares captured traffic
 * with the model's baseline, and the same alarm definitions as in AWS go to ALARM on shifted inputs and back
 * to OK on normal ones; a canary that fails is rolled back by its alarm. Over real HTTP and the real SDK.
 */

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { AlarmStatus, RunRecord } from '../../core/api-types.ts';
import { ENV, METRICS } from '../../core/contract.ts';
import { type DriftReport, MIN_DRIFT_SAMPLES } from '../../core/drift.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import type { AliasEntry, ModelVersion } from '../../core/model-registry.ts';
import type { TrainingCard } from '../../core/pipeline.ts';
import { createRandom, shuffled } from '../../core/random.ts';
import { irisExample, localPlatformFixture } from '../helpers.ts';

process.env[ENV.aliasCacheMs] = '0';

const MODEL = 'iris';
const { lines: LINES, rows: SORTED } = irisExample();
/**
 * The flowers in a fixed random order: the file is sorted by species, and a monitor window that saw only the
 * first 50 would rightly report drift (all setosa); traffic in this order looks like the training data.
 */
const ROWS = shuffled(SORTED, createRandom(7));
/** The same flowers, measured by a miscalibrated instrument: petals 2.5 cm longer, sepals 40% wider. */
const SHIFTED = ROWS.map((r) => ({
  ...r,
  petal_length: (r.petal_length as number) + 2.5,
  sepal_width: (r.sepal_width as number) * 1.4,
}));
const DRIFT_ALARM = `nimbus/${MODEL}/drift`;
const CANARY_ALARM = `nimbus/${MODEL}/canary`;

describe('monitoring: metrics, drift alarms and canary alarms', () => {
  // The drift monitor runs every 2 s here (15 min by default), and every prediction is captured at once.
  const local = localPlatformFixture({
    captureRate: 1,
    captureFlushMs: 0,
    monitorIntervalSeconds: 2,
    alarmActions: { retrainOnDrift: true },
  });

  const monitoring = async <T>(path: string): Promise<T> => {
    const response = await local.client.get(`/v1/monitoring${path}`);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return JSON.parse(text) as T;
  };
  const alarm = async (name: string) =>
    (await monitoring<{ alarms: AlarmStatus[] }>('/alarms')).alarms.find((a) => a.name === name);

  /** Sends traffic in batches of 50 instances until the alarm reaches the state (bounded); returns ms taken. */
  async function trafficUntil(rows: readonly object[], name: string, state: string): Promise<number> {
    const started = Date.now();
    for (let i = 0; ; i++) {
      const batch = rows.slice((i * 50) % rows.length, ((i * 50) % rows.length) + 50);
      const response = await local.client.predict(MODEL, { instances: batch });
      assert.equal(response.status, 200, await response.text());
      if ((await alarm(name))?.state === state) return Date.now() - started;
      assert.ok(Date.now() - started < 300_000, `${name} not ${state}: ${JSON.stringify(await alarm(name))}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  // The model the tests share is trained before them: a slow run fails the first test, not every one after.
  let trained: RunRecord | undefined;
  before(async () => {
    await local.client.upload(`datasets/${MODEL}/iris.csv`, `${LINES.join('\n')}\n`);
    [trained] = await local.client.waitForRuns(MODEL, 1);
  });

  it('serves iris and writes its prediction metrics in EMF', async () => {
    const { client, platform } = local;
    const run = trained;
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    const response = await client.predict(MODEL, { instances: ROWS.slice(0, 10) });
    assert.equal(response.status, 200);
    assert.equal((await client.predict('nope', { instances: ROWS.slice(0, 1) })).status, 404);

    const byModel = { service: METRICS.service, model: MODEL };
    const { metrics } = platform.monitoring;
    assert.ok(metrics.datapoints(METRICS.predictions, byModel).length >= 1);
    assert.ok(metrics.datapoints(METRICS.latency, { service: METRICS.service }).length >= 1);
    const instances = metrics.datapoints(METRICS.instances, byModel);
    assert.equal(instances.at(-1)?.value, 10);
    const setosa = metrics.datapoints(METRICS.classPredictions, { ...byModel, class: 'setosa' });
    assert.ok(setosa.length >= 1, 'per-class prediction counts');
    // A made-up model name is counted for all models only: no metric (nor alarm) has it as a dimension.
    const notFound = metrics.datapoints(METRICS.errors, { service: METRICS.service, errorType: 'NotFound' });
    assert.ok(notFound.length >= 1, 'errors by type');
    const byMadeUpName = metrics.datapoints(METRICS.errors, {
      service: METRICS.service,
      model: 'nope',
      errorType: 'NotFound',
    });
    assert.equal(byMadeUpName.length, 0, 'no metric for a model that does not exist');
    assert.ok(!metrics.models.has('nope'));
    // The training container's own EMF line, read off its stdout as CloudWatch Logs reads a job's log.
    const [seconds] = metrics.datapoints(METRICS.trainingSeconds, byModel);
    const [epochs] = metrics.datapoints(METRICS.trainingEpochs, byModel);
    assert.ok((seconds?.value ?? 0) > 0, 'training seconds');
    assert.equal(epochs?.value, run?.training?.epochs);
  });

  it('raises the drift alarm on shifted inputs, and clears it on normal ones', async () => {
    const latencyMs = await trafficUntil(SHIFTED, DRIFT_ALARM, 'ALARM');
    const raised = await alarm(DRIFT_ALARM);
    assert.equal(raised?.kind, 'drift');
    assert.equal(raised?.model, MODEL);
    assert.match(raised?.reason ?? '', /DriftScore/);

    const { reports, threshold } = await monitoring<{ reports: DriftReport[]; threshold: number }>(
      `/models/${MODEL}/drift`,
    );
    const last = reports.at(-1) as DriftReport;
    assert.ok(last.score > threshold, `drift score ${last.score}`);
    assert.ok((last.features.petal_length?.psi ?? 0) > threshold, JSON.stringify(last.features));
    assert.ok((last.features.sepal_width?.psi ?? 0) > threshold, JSON.stringify(last.features));
    assert.ok(last.samples >= MIN_DRIFT_SAMPLES);

    // The alarm's action: a training run on the dataset as it is now, though its content was seen before.
    const [retrain] = await local.client.waitForRuns(MODEL, 2);
    const runs = await local.client.runs(MODEL);
    const again = runs.find((r) => r.runId.startsWith('retrain-'));
    assert.ok(again, `a retraining run: ${JSON.stringify(runs.map((r) => r.runId))}`);
    const first = runs.find((r) => r !== again);
    assert.equal(again.datasetVersion, first?.datasetVersion);
    assert.ok(retrain && first);
    // It began from the production version's weights (same schema and preprocessing): the card says so, the
    // version's lineage names its parent, and its first epoch starts where a trained model is, not from scratch.
    const card = async (run: RunRecord) =>
      local.client.artifactJson<TrainingCard>(KEYS.modelPrefix(MODEL, run.runId) + ARTIFACTS.card);
    const [warm, cold] = [await card(again), await card(first)];
    assert.deepEqual(warm.training.warmStart, { version: 1, runId: first.runId });
    assert.equal(warm.lineage.parentVersion, 1);
    assert.equal(cold.training.warmStart, undefined, 'the first run of a model has no parent');
    const [warmLoss, coldLoss] = [warm.history[0]?.loss ?? Number.NaN, cold.history[0]?.loss ?? Number.NaN];
    assert.ok(warmLoss < coldLoss / 2, `first-epoch loss ${warmLoss} (warm) vs ${coldLoss} (from scratch)`);

    await trafficUntil(ROWS, DRIFT_ALARM, 'OK');
    const { reports: after } = await monitoring<{ reports: DriftReport[] }>(`/models/${MODEL}/drift`);
    assert.ok((after.at(-1)?.score ?? 1) < threshold, `normal traffic: ${JSON.stringify(after.at(-1))}`);
    const { history } = await monitoring<{ history: AlarmStatus[] }>('/alarms/history');
    const drift = history.filter((h) => h.name === DRIFT_ALARM).map((h) => h.state);
    assert.deepEqual(drift.slice(0, 2), ['OK', 'ALARM'], 'newest first: raised, then cleared');
    console.log(`# drift detection: shifted traffic in → ALARM in ${latencyMs} ms (monitor every 2 s)`);
  });

  it('rolls a failing canary back when its alarm fires', async () => {
    const { client } = local;
    await client.upload(
      `datasets/${MODEL}/iris-again.csv`,
      `${[LINES[0], ...LINES.slice(1).reverse()].join('\n')}\n`,
    );
    const runs = await client.waitForRuns(MODEL, 3);
    assert.ok(
      runs.every((r) => r.status === 'SUCCEEDED'),
      JSON.stringify(runs),
    );
    const change = async (path: string, body: object) => {
      const response = await client.registry(path, body);
      assert.equal(response.status, 200, await response.text());
    };
    await change(`/models/${MODEL}/aliases/production`, { version: 1, reason: 'pin v1' });
    // The newest version (never served yet) gets corrupted weights: every request it gets fails with a 500.
    const broken = await client.registryJson<ModelVersion>(`/models/${MODEL}/versions/3`);
    await client.s3.send(
      new PutObjectCommand({
        Bucket: client.endpoints.artifactsBucket,
        Key: broken.artifactPrefix + ARTIFACTS.weights,
        Body: new Uint8Array(3),
      }),
    );
    await change(`/models/${MODEL}/aliases/production/canary`, {
      version: 3,
      weight: 0.5,
      reason: 'try v3 on half',
    });
    const history = async () =>
      (await client.registryJson<{ history: AliasEntry[] }>(`/models/${MODEL}/aliases/production/history`))
        .history;
    const canaryAt = (await history()).at(-1);
    assert.equal(canaryAt?.action, 'canary');

    // Traffic like the training data (so drift does not start a retraining run meanwhile), until the
    // canary is gone. Another pipeline run may promote its version right after; the history says who did what.
    const deadline = Date.now() + 300_000;
    let faults = 0;
    for (let i = 0; ; i++) {
      const response = await client.predict(MODEL, { instances: [ROWS[i % ROWS.length]] });
      if (response.status === 500) faults++;
      else assert.equal(response.status, 200, await response.text());
      const entry = await client.registryJson<{ canary?: unknown }>(`/models/${MODEL}/aliases/production`);
      if (!entry.canary) break;
      assert.ok(Date.now() < deadline, 'the canary was not rolled back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(faults > 0, 'the canary failed some requests');
    const after = (await history()).filter((e) => e.revision > (canaryAt?.revision ?? 0));
    const rolledBack = after[0];
    assert.equal(rolledBack?.action, 'rollback', JSON.stringify(after));
    assert.equal(rolledBack.who, 'nimbus-monitor');
    assert.equal(rolledBack.undoes, canaryAt?.revision);
    assert.deepEqual(rolledBack.state, { version: 1 }, 'back to the version that served before the canary');
    assert.equal((await alarm(CANARY_ALARM))?.state, 'ALARM');
    const served = await client.predict(MODEL, { instances: ROWS.slice(0, 1) });
    assert.equal(served.status, 200, 'production answers again');
  });
});
