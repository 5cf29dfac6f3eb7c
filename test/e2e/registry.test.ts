/**
 * The model registry and the serving API on the local platform, over real HTTP: manual approval through the
 * registry API (the pipeline waits on its task token), rejection, the concurrent-promotion race, "where did
 * production point at time T", a 90/10 canary over 1,000 requests, sticky canaries, rollback, archiving, the
 * status codes of the predict routes, and the data capture in S3.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { ModelStatusResponse, RunRecord } from '../../core/api-types.ts';

import { API, ENV } from '../../core/contract.ts';
import { executionArn } from '../../core/events.ts';
import type { AliasEntry, AuditEntry, ModelVersion } from '../../core/model-registry.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { localPlatformFixture } from '../helpers.ts';

// Every request sees the newest alias (the default trusts it for 1 s), and every capture is written at once.
process.env[ENV.aliasCacheMs] = '0';
process.env[ENV.captureFlushMs] = '0';

const MODEL = 'flowers';
const IRIS_LINES = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'), 'utf8')
  .trim()
  .split(/\r?\n/);
/** The same rows in another order: new bytes (a new dataset version), the same data. */
const variant = (k: number) => {
  const rows = IRIS_LINES.slice(1);
  const rotated = [...rows.slice(k * 7), ...rows.slice(0, k * 7)];
  return `${[IRIS_LINES[0], ...rotated].join('\n')}\n`;
};
const INSTANCE = { sepal_length: 5.9, sepal_width: 3, petal_length: 5.1, petal_width: 1.8 };

describe('model registry and serving', () => {
  const local = localPlatformFixture({ captureRate: 1 });

  /** Uploads variant k and waits until its run waits for approval; returns the run. */
  async function trainAndWait(k: number): Promise<RunRecord> {
    const { client } = local;
    const before = new Set((await client.runs(MODEL)).map((run) => run.runId));
    await client.upload(`datasets/${MODEL}/${MODEL}.csv`, variant(k));
    const deadline = Date.now() + 600_000;
    for (;;) {
      const run = (await client.runs(MODEL)).find((r) => !before.has(r.runId));
      if (run?.step === 'WaitForApproval') return run;
      assert.notEqual(run?.status, 'FAILED', run?.reason);
      assert.ok(
        Date.now() < deadline,
        `run of variant ${k} not waiting for approval: ${JSON.stringify(run)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function finished(runId: string): Promise<RunRecord> {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const run = (await local.client.runs(MODEL)).find((r) => r.runId === runId);
      if (run && run.status !== 'RUNNING') return run;
      assert.ok(Date.now() < deadline, `run ${runId} did not finish`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const post = async (
    path: string,
    body: unknown,
    status: number,
    init: { adminKey?: string | null } = {},
  ) => {
    const response = await local.client.registry(path, body, init);
    const text = await response.text();
    assert.equal(response.status, status, text);
    assert.match(response.headers.get('content-type') ?? '', /json/);
    return JSON.parse(text) as Record<string, unknown>;
  };

  const predictVersion = async (init: Parameters<typeof local.client.predict>[2] = {}) => {
    const response = await local.client.predict(MODEL, { instances: [INSTANCE] }, init);
    const body = (await response.json()) as { model_version: number };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(response.headers.get(API.versionHeader), String(body.model_version));
    return body.model_version;
  };

  it('waits for a person when the gate asks, and promotes once an admin approves through the registry API', async () => {
    const { client } = local;
    await client.upload(
      `datasets/${MODEL}/dataset.json`,
      JSON.stringify({ label: 'species', gate: { approval: 'manual', maxRegression: 1 } }),
    );
    const run = await trainAndWait(0);
    const waiting = await client.predict(MODEL, { instances: [INSTANCE] });
    assert.equal(waiting.status, 404, 'nothing serves before the approval');

    const approve = `/models/${MODEL}/versions/1/approve`;
    const refused = await client.registry(approve, { reason: 'looks good' }, { adminKey: null });
    assert.equal(refused.status, 403, 'a change needs the admin credential');
    assert.equal((await client.registry(approve, { reason: 'x' }, { adminKey: 'wrong' })).status, 403);
    await post(approve, {}, 400);
    const entry = await post(approve, { reason: 'validated on the holdout by hand' }, 200);
    assert.equal(entry.status, 'approved');

    const done = await finished(run.runId);
    assert.equal(done.status, 'SUCCEEDED', done.reason);
    assert.equal(done.promoted, true);
    assert.equal(await predictVersion(), 1);
    await post(approve, { reason: 'again' }, 409);

    const { audit } = await client.registryJson<{ audit: AuditEntry[] }>(`/models/${MODEL}/audit`);
    assert.deepEqual(
      audit.map((e) => e.action),
      ['register', 'approve', 'promote'],
    );
    assert.match(audit[1]?.who ?? '', /local-admin/);
    assert.equal(audit[1]?.why, 'validated on the holdout by hand');
    assert.equal(audit[2]?.who, `pipeline:${run.runId}`);
  });

  it('keeps a rejected version out of production, and refuses to promote it', async () => {
    const run = await trainAndWait(1);
    await post(`/models/${MODEL}/versions/2/reject`, { reason: 'worse on the fairness slice' }, 200);
    const done = await finished(run.runId);
    assert.equal(done.status, 'SUCCEEDED');
    assert.equal(done.promoted, false);
    assert.match(done.reason ?? '', /rejected v2: worse on the fairness slice/);
    assert.equal(await predictVersion(), 1);
    const refused = await post(`/models/${MODEL}/aliases/production`, { version: 2, reason: 'try' }, 409);
    assert.match(String(refused.error), /rejected/);
  });

  it('lets exactly one of two concurrent promotions win, and keeps the audit log a single chain', async () => {
    const run = await trainAndWait(2);
    await post(`/models/${MODEL}/versions/3/approve`, { reason: 'ok' }, 200);
    assert.equal((await finished(run.runId)).promoted, true);
    assert.equal(await predictVersion(), 3);

    // Both callers read revision 0 of a new alias and race.
    const race = await Promise.all(
      [1, 3].map((version) =>
        local.client.registry(`/models/${MODEL}/aliases/staging`, {
          version,
          reason: `race ${version}`,
          expectedRevision: 0,
        }),
      ),
    );
    assert.deepEqual(race.map((r) => r.status).sort(), [200, 409]);
    const loser = race.find((r) => r.status === 409);
    assert.match(
      ((await loser?.json()) as { error: string } | undefined)?.error ?? '',
      /changed since you read it|landed first/,
    );

    // Without an expected revision, each promotion reads and writes; some may collide, none is lost silently.
    const many = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        local.client.registry(`/models/${MODEL}/aliases/race`, { version: i % 2 ? 1 : 3, reason: `p${i}` }),
      ),
    );
    const statuses = many.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 200 || s === 409),
      String(statuses),
    );
    const { history } = await local.client.registryJson<{ history: AliasEntry[] }>(
      `/models/${MODEL}/aliases/race/history`,
    );
    assert.equal(history.length, statuses.filter((s) => s === 200).length, 'one entry per success');
    history.forEach((entry, i) => {
      assert.equal(entry.revision, i + 1);
      assert.deepEqual(entry.previous, history[i - 1]?.state, 'each change starts where the last one ended');
    });
  });

  it('answers where production pointed at any time T', async () => {
    const { history } = await local.client.registryJson<{ history: AliasEntry[] }>(
      `/models/${MODEL}/aliases/production/history`,
    );
    assert.deepEqual(
      history.map((e) => e.state.version),
      [1, 3],
    );
    for (const entry of history) {
      const mid = new Date(Date.parse(entry.at) + 1).toISOString();
      const then = await local.client.registryJson<{ version: number; asOf: string }>(
        `/models/${MODEL}/aliases/production?at=${encodeURIComponent(mid)}`,
      );
      assert.equal(then.version, entry.state.version);
    }
    const first = Date.parse(history[0]?.at ?? '');
    const before = await local.client.registry(
      `/models/${MODEL}/aliases/production?at=${new Date(first - 1000).toISOString()}`,
    );
    assert.equal(before.status, 404);
    assert.equal(
      (await local.client.registry(`/models/${MODEL}/aliases/production?at=yesterday`)).status,
      400,
    );
  });

  it('splits production 90/10 between two versions over 1,000 requests, each answer naming its version', async () => {
    await post(
      `/models/${MODEL}/aliases/production/canary`,
      { version: 1, weight: 0.1, reason: 'canary' },
      200,
    );
    const status = async (path: string) =>
      ((await (await local.client.get(path)).json()) as ModelStatusResponse).model_version_status.map((v) => [
        v.version,
        v.state,
      ]);
    assert.deepEqual((await status(`/v1/models/${MODEL}/labels/production`)).sort(), [
      ['1', 'AVAILABLE'],
      ['3', 'AVAILABLE'],
    ]);
    assert.deepEqual(await status(`/v1/models/${MODEL}`), [
      ['1', 'AVAILABLE'],
      ['2', 'AVAILABLE'],
      ['3', 'AVAILABLE'],
    ]);

    const counts = new Map<number, number>();
    const total = 1000;
    for (let i = 0; i < total; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => predictVersion()));
      for (const v of batch) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const canaryShare = (counts.get(1) ?? 0) / total;
    // Binomial(1000, 0.1): sd ≈ 0.0095; ±3 sd.
    assert.ok(canaryShare > 0.07 && canaryShare < 0.13, `canary share ${canaryShare}`);
    assert.equal((counts.get(1) ?? 0) + (counts.get(3) ?? 0), total);
  });

  it('keeps a caller on one version with a sticky canary, and rolls back and forward through the registry', async () => {
    await post(
      `/models/${MODEL}/aliases/production/canary`,
      { version: 1, weight: 0.5, stickyHeader: 'X-User', reason: 'sticky canary' },
      200,
    );
    for (const user of ['ann', 'bob', 'cy', 'dee']) {
      const seen = new Set<number>();
      for (let i = 0; i < 10; i++) seen.add(await predictVersion({ headers: { 'x-user': user } }));
      assert.equal(seen.size, 1, `${user} always gets the same version`);
    }
    // Undo the sticky canary, then the 90/10 one: production is v3 alone again.
    await post(`/models/${MODEL}/aliases/production/rollback`, { reason: 'undo sticky' }, 200);
    const undone = await post(`/models/${MODEL}/aliases/production/rollback`, { reason: 'undo canary' }, 200);
    assert.deepEqual(undone.state, { version: 3 });
    assert.equal(await predictVersion(), 3);
    // Roll forward: the canary's version takes the alias.
    await post(`/models/${MODEL}/aliases/production/canary`, { version: 1, weight: 0.2, reason: 'c' }, 200);
    await post(`/models/${MODEL}/aliases/production`, { version: 1, reason: 'canary healthy' }, 200);
    assert.equal(await predictVersion(), 1);
    // Roll back undoes one change at a time: first the roll-forward (back to the canary), then the canary.
    const canary = await post(`/models/${MODEL}/aliases/production/rollback`, { reason: 'latency' }, 200);
    assert.deepEqual(canary.state, { version: 3, canary: { version: 1, weight: 0.2 } });
    await post(`/models/${MODEL}/aliases/production/rollback`, { reason: 'latency regression' }, 200);
    assert.equal(await predictVersion(), 3);
  });

  it('answers every predict route with the right status: versions, labels, archived, columns, NaN', async () => {
    const { client } = local;
    const status = async (response: Response, code: number, pattern?: RegExp) => {
      const text = await response.text();
      assert.equal(response.status, code, text);
      assert.doesNotMatch(text, /\n\s+at /);
      if (pattern) assert.match(text, pattern);
      return JSON.parse(text) as Record<string, unknown>;
    };
    await status(await client.predict(MODEL, { instances: [INSTANCE] }, { target: '/versions/1' }), 200);
    await status(await client.predict(MODEL, { instances: [INSTANCE] }, { target: '/labels/staging' }), 200);
    await status(
      await client.predict(MODEL, { instances: [INSTANCE] }, { target: '/versions/99' }),
      404,
      /no version 99/,
    );
    await status(
      await client.predict(MODEL, { instances: [INSTANCE] }, { target: '/labels/nope' }),
      404,
      /no label/,
    );
    await status(await client.predict('no-such-model', { instances: [INSTANCE] }), 404);

    // Archiving: refused while an alias serves the version; afterwards, the version is gone from serving.
    await post(`/models/${MODEL}/versions/3/archive`, { reason: 'old' }, 409);
    await post(`/models/${MODEL}/versions/2/archive`, { reason: 'rejected long ago' }, 200);
    await status(
      await client.predict(MODEL, { instances: [INSTANCE] }, { target: '/versions/2' }),
      404,
      /archived/,
    );

    // Columnar inputs answer in columns.
    const columns = await status(
      await client.predict(MODEL, {
        inputs: {
          sepal_length: [5.1, 6.7],
          sepal_width: [3.5, 3.1],
          petal_length: [1.4, 5.6],
          petal_width: [0.2, 2.4],
        },
      }),
      200,
    );
    const outputs = columns.outputs as { label: string[]; probabilities: Record<string, number[]> };
    assert.deepEqual(outputs.label, ['setosa', 'virginica']);
    assert.equal(outputs.probabilities.setosa?.length, 2);
    // TF Serving's NaN and Infinity literals: read, then refused by name.
    const nan = await status(
      await client.predict(
        MODEL,
        `{"instances": [${JSON.stringify(INSTANCE)}, {"sepal_length": NaN, "sepal_width": 3, "petal_length": 1, "petal_width": 1}]}`,
        { raw: true },
      ),
      400,
      /instances\[1\]\.sepal_length must be a finite number, got NaN/,
    );
    assert.deepEqual([nan.field, nan.instance], ['sepal_length', 1]);
    await status(
      await client.predict(
        MODEL,
        '{"inputs": {"sepal_length": [1, -Infinity], "sepal_width": [1, 1], "petal_length": [1, 1], "petal_width": [1, 1]}}',
        { raw: true },
      ),
      400,
      /inputs\.sepal_length\[1\] must be a finite number, got -Infinity/,
    );
    await status(
      await client.predict(MODEL, { inputs: { sepal_length: [1, 2], sepal_width: [1] } }),
      400,
      /one value per instance/,
    );
  });

  it('lists models, versions and runs, and captures sampled predictions to S3 as JSON Lines by date and hour', async () => {
    const { client } = local;
    const { models } = await client.registryJson<{ models: { model: string; latestVersion: number }[] }>(
      '/models',
    );
    assert.deepEqual(models, [{ model: MODEL, latestVersion: 3 }]);
    const { versions } = await client.registryJson<{ versions: ModelVersion[] }>(`/models/${MODEL}/versions`);
    assert.deepEqual(
      versions.map((v) => [v.version, v.status]),
      [
        [1, 'approved'],
        [2, 'archived'],
        [3, 'approved'],
      ],
    );
    const { runs } = await client.registryJson<{ runs: RunRecord[] }>(`/runs?dataset=${MODEL}&limit=2`);
    assert.equal(runs.length, 2);
    assert.ok((runs[0]?.startedAt ?? '') >= (runs[1]?.startedAt ?? ''), 'newest first');
    assert.equal((await client.registry('/runs/none')).status, 404);
    const { datasets } = await client.registryJson<{ datasets: { name: string; versions: number }[] }>(
      '/datasets',
    );
    assert.deepEqual(
      datasets.map((d) => [d.name, d.versions]),
      [[MODEL, 3]],
    );
    const { versions: datasetVersions } = await client.registryJson<{ versions: { version: string }[] }>(
      `/datasets/${MODEL}`,
    );
    const newest = datasetVersions.at(-1)?.version ?? '';
    const report = await client.registryJson<{ valid: boolean; rowCount: number }>(
      `/datasets/${MODEL}/versions/${newest}/report`,
    );
    assert.deepEqual([report.valid, report.rowCount], [true, 150]);
    for (const path of [
      '/datasets/none',
      `/datasets/${MODEL}/versions/0000`,
      `/datasets/${MODEL}/versions/x/report`,
    ])
      assert.equal((await client.registry(path)).status, 404, path);
    assert.equal((await client.registry('/models/none/audit')).status, 200);

    const listed = await client.s3.send(
      new ListObjectsCommand({ Bucket: client.endpoints.artifactsBucket, Prefix: `capture/${MODEL}/` }),
    );
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    assert.ok(keys.length > 0, 'captured predictions');
    for (const key of keys)
      assert.match(key, /^capture\/flowers\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/.+\.jsonl$/);
    const object = await client.s3.send(
      new GetObjectCommand({ Bucket: client.endpoints.artifactsBucket, Key: keys[0] }),
    );
    const line = JSON.parse(((await object.Body?.transformToString()) ?? '').split('\n')[0] as string);
    assert.equal(line.model, MODEL);
    assert.ok(Array.isArray(line.instances) && Array.isArray(line.predictions));
    assert.equal(typeof line.version, 'number');
  });

  it('ends a run whose execution is stopped while it waits, and says so to whoever approves it later', async () => {
    const { client } = local;
    const run = await trainAndWait(3);
    const { endpoints } = client;
    const sfn = new SFNClient({
      endpoint: endpoints.stepFunctions,
      region: endpoints.region,
      credentials: { accessKeyId: endpoints.accessKeyId, secretAccessKey: endpoints.secretAccessKey },
    });
    await sfn.send(
      new StopExecutionCommand({
        executionArn: executionArn(endpoints.stateMachineArn, run.runId),
        cause: 'the reviewer left',
      }),
    );
    sfn.destroy();
    const done = await finished(run.runId);
    assert.equal(done.status, 'FAILED');
    assert.match(done.reason ?? '', /^stopped after \d+ s, in WaitForApproval: the reviewer left$/);

    // The version can still be approved; nothing waits to deploy it, and the answer says so.
    const entry = await post(`/models/${MODEL}/versions/4/approve`, { reason: 'late' }, 200);
    assert.equal(entry.status, 'approved');
    assert.match(String(entry.pipeline), new RegExp(`run ${run.runId} no longer waits.*promote v4 yourself`));
    assert.equal(await predictVersion(), 3, 'production unchanged');
  });
});
