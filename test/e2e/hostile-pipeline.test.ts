/**
 * The pipeline as a careless or hostile user feeds it, against the live local platform: names it does not
 * accept, records an older or broken version wrote, failed runs to retry, tables too wide to be one, keys
 * that try to leave their bucket, and many bad uploads at once. Each must end in a clear FAILED reason or a
 * clear answer, with the platform still up (and starting again on the same data), nothing registered from bad
 * data, and nothing lost.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RunRecord } from '../../core/api-types.ts';

import { KEYS } from '../../core/keys.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { localPlatformFixture } from '../helpers.ts';

const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'));

describe('careless and hostile uploads', () => {
  const local = localPlatformFixture();
  const runs = async () => (await local.client.registryJson<{ runs: RunRecord[] }>('/runs')).runs;

  it('refuses a dataset name outside the rule with one reason naming the valid form; every listing answers', async () => {
    const { client, platform } = local;
    const names: [string, string | undefined][] = [
      ['Wine', 'datasets/wine/d.csv'],
      ['My-Data', 'datasets/my-data/d.csv'],
      ['données', 'datasets/donnees/d.csv'],
      ['x'.repeat(200), `datasets/${'x'.repeat(63)}/d.csv`],
      ['日本語', undefined],
    ];
    for (const [name] of names) await client.upload(`datasets/${name}/d.csv`, IRIS);
    await platform.pipeline.idle();
    const listed = await runs();
    for (const [name, valid] of names) {
      const run = listed.find((r) => r.dataset === name);
      assert.equal(run?.status, 'FAILED', name.slice(0, 20));
      assert.match(
        run.reason ?? '',
        /^DatasetValidationError: dataset name ".*" is not valid: a name is lowercase/,
      );
      if (valid) assert.ok(run.reason?.includes(`use ${valid}`), run.reason);
      // A complete record: what the listing, the dashboard and the CLI read.
      for (const field of ['runId', 'datasetKey', 'startedAt', 'updatedAt', 'finishedAt'] as const) {
        assert.equal(typeof run[field], 'string', `${field} of ${name.slice(0, 20)}`);
      }
      assert.ok(Array.isArray(run.steps));
      assert.deepEqual(await client.datasetVersions(name), [], 'no dataset version for a refused name');
      assert.deepEqual(await client.modelItems(name), [], 'no model for a refused name');
    }
    const filtered = await client.registryJson<{ runs: RunRecord[] }>(
      `/runs?dataset=${encodeURIComponent('Wine')}`,
    );
    assert.equal(filtered.runs.length, 1);
    // The model routes of a refused name say what the rule is.
    const response = await client.registry('/models/Wine');
    assert.equal(response.status, 404);
    assert.match(await response.text(), /use \\"wine\\"/);
  });

  it('lists, reads and starts again over run and dataset records an older or broken version wrote', async () => {
    const { client } = local;
    const put = (table: string, Item: Record<string, unknown>) =>
      client.db.send(new PutCommand({ TableName: table, Item }));
    const { tables } = client.endpoints;
    await put(tables.runs, { runId: 'old-no-fields' });
    await put(tables.runs, { runId: 'old-failed', status: 'FAILED', reason: 'an older platform' });
    await put(tables.runs, { runId: 'old-running', status: 'RUNNING', datasetKey: 'datasets/iris/iris.csv' });
    await put(tables.runs, { runId: 'old-odd', status: 42, steps: 'not a list', startedAt: 7 });
    await put(tables.datasets, { name: 'old-dataset', version: '0123456789abcdef' });
    // A version naming a run that never opened its record (a platform killed between the two writes).
    await put(tables.datasets, {
      name: 'killed',
      version: 'fedcba9876543210',
      hash: 'fedcba9876543210',
      key: 'datasets/killed/k.csv',
      size: 1,
      firstRunId: 'never-opened',
      runIds: ['never-opened'],
      status: 'REGISTERED',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    // An alarm state without a name or states (the monitoring API and start-up read alarm states too).
    await put(tables.models, { model: '#alarms', sk: 'STATE#nimbus/odd/drift', state: 42 });
    const check = async () => {
      const listed = await runs();
      for (const id of ['old-failed', 'old-running', 'old-odd']) {
        const run = listed.find((r) => r.runId === id);
        assert.ok(run, id);
        assert.equal(typeof run.startedAt, 'string');
        assert.ok(Array.isArray(run.steps));
      }
      assert.equal((await client.registry('/runs/old-odd')).status, 200);
      assert.equal((await client.registry('/datasets')).status, 200);
      assert.equal((await client.registry('/datasets/old-dataset')).status, 200);
      const alarms = await fetch(`${local.client.endpoints.api}/v1/monitoring/alarms`, {
        headers: { 'x-api-key': local.client.endpoints.apiKey },
      });
      assert.equal(alarms.status, 200, await alarms.clone().text());
    };
    await check();
    await local.restart();
    await check();
    const ended = await local.client.registryJson<RunRecord>('/runs/old-running');
    assert.equal(ended.status, 'FAILED');
    assert.match(ended.reason ?? '', /the local platform stopped while the run was in/);
    // The run that never opened its record is FAILED now, so its bytes are no longer held as "starting".
    const never = await local.client.registryJson<RunRecord>('/runs/never-opened');
    assert.equal(never.status, 'FAILED');
    assert.match(never.reason ?? '', /stopped before the run opened its record/);
  });

  it('retries a failed run on the same bytes once; a re-upload of bytes whose runs all failed starts a new run', async () => {
    const { client, platform } = local;
    const name = 'retry-me';
    const key = `datasets/${name}/iris.csv`;
    // A manifest that fails the run at Preprocess: the same bytes are fine, the settings are not.
    await client.upload(KEYS.manifest(name), JSON.stringify({ hyperparameters: { batchSize: 0 } }));
    await client.upload(key, IRIS);
    const [first] = await client.waitForRuns(name, 1);
    assert.equal(first?.status, 'FAILED');
    assert.match(first.reason ?? '', /batchSize must be a whole number from 1 to/);

    // The same bytes again: every run on them failed, so this is a new run (which fails the same way).
    await client.upload(key, IRIS);
    const two = await client.waitForRuns(name, 2);
    const second = two.find((r) => r.runId !== first.runId) as RunRecord;
    assert.equal(second.status, 'FAILED');
    const [version] = await client.datasetVersions(name);
    assert.deepEqual(version?.runIds, [first.runId, second.runId]);

    await client.upload(KEYS.manifest(name), JSON.stringify({ hyperparameters: { epochs: 20 } }));
    const denied = await client.registry(
      `/runs/${second.runId}/retry`,
      { reason: 'fixed' },
      { adminKey: null },
    );
    assert.equal(denied.status, 403);
    const retried = await client.registry(`/runs/${second.runId}/retry`, { reason: 'manifest fixed' });
    assert.equal(retried.status, 200, await retried.clone().text());
    const { runId, retryOf } = (await retried.json()) as { runId: string; retryOf: string };
    assert.equal(retryOf, second.runId);
    const again = await client.registry(`/runs/${second.runId}/retry`, { reason: 'twice' });
    assert.equal(again.status, 409);
    assert.match(await again.text(), new RegExp(`already retried by run ${runId}`));

    const three = await client.waitForRuns(name, 3);
    const third = three.find((r) => r.runId === runId);
    assert.equal(third?.status, 'SUCCEEDED', third?.reason);
    assert.equal(third.retryOf, second.runId);
    assert.equal(third.datasetVersion, version?.version);
    assert.equal((await client.registryJson<RunRecord>(`/runs/${second.runId}`)).retriedBy, runId);

    // A run on these bytes succeeded: the same bytes are idempotent again.
    await client.upload(key, IRIS);
    await platform.pipeline.idle();
    assert.equal((await client.runs(name)).length, 3);
    const succeeded = await client.registry(`/runs/${runId}/retry`, { reason: 'no need' });
    assert.equal(succeeded.status, 409);
    assert.match(await succeeded.text(), /only a FAILED run is retried/);
    assert.equal((await client.registry('/runs/no-such-run/retry', { reason: 'x' })).status, 404);
  });

  it('retries nothing a run on the same bytes holds, nor a run whose name was refused', async () => {
    const { client, platform } = local;
    const name = 'retry-live';
    await client.upload(KEYS.manifest(name), JSON.stringify({ hyperparameters: { batchSize: 0 } }));
    await client.upload(`datasets/${name}/iris.csv`, IRIS);
    const [failed] = await client.waitForRuns(name, 1);
    assert.equal(failed?.status, 'FAILED');
    // Fixed and uploaded again: a new run on the same bytes succeeds; the failed run's retry is pointless.
    await client.upload(KEYS.manifest(name), JSON.stringify({ hyperparameters: { epochs: 5 } }));
    await client.upload(`datasets/${name}/iris.csv`, IRIS);
    const both = await client.waitForRuns(name, 2);
    assert.ok(
      both.some((r) => r.status === 'SUCCEEDED'),
      JSON.stringify(both.map((r) => r.reason)),
    );
    const live = await client.registry(`/runs/${failed.runId}/retry`, { reason: 'again' });
    assert.equal(live.status, 409);
    assert.match(await live.text(), /on the same bytes .* is SUCCEEDED: nothing to retry/);

    await client.upload('datasets/Refused/iris.csv', IRIS);
    await platform.pipeline.idle();
    const refused = (await runs()).find((r) => r.dataset === 'Refused') as RunRecord;
    const retry = await client.registry(`/runs/${refused.runId}/retry`, { reason: 'again' });
    assert.equal(retry.status, 409);
    assert.match(
      await retry.text(),
      /cannot be retried: dataset name \\"Refused\\" is not valid.*datasets\/refused\/iris\.csv/,
    );
  });

  it('fails a manifest larger than a manifest is, naming the cap', async () => {
    const { client } = local;
    await client.upload(
      KEYS.manifest('big-manifest'),
      JSON.stringify({ ignore: Array.from({ length: 8000 }, (_, i) => `column-${i}`) }),
    );
    await client.upload('datasets/big-manifest/iris.csv', IRIS);
    const [run] = await client.waitForRuns('big-manifest');
    assert.equal(run?.status, 'FAILED');
    assert.match(run.reason ?? '', /dataset\.json is .* past 32 KiB \(the manifest cap\)/);
  });

  it('fails a table of 100,000 columns with a finding naming the bound', async () => {
    const { client } = local;
    const width = 100_000;
    const header = Array.from({ length: width }, (_, i) => `c${i}`).join(',');
    const row = (n: number) =>
      Array.from({ length: width }, (_, i) => (i === width - 1 ? n % 2 : i)).join(',');
    await client.upload('datasets/wide/wide.csv', `${header}\n${[1, 2, 3, 4].map(row).join('\n')}\n`);
    const [run] = await client.waitForRuns('wide');
    assert.equal(run?.status, 'FAILED');
    assert.match(run.reason ?? '', /the header has 100000 columns; a table may have at most 2000/);
    assert.doesNotMatch(run.reason ?? '', /Item size|exceeded/);
  });

  it('keeps every object inside its bucket, whatever its key, and refuses the name such a key makes', async () => {
    const { client, platform } = local;
    // Through the datasets bucket into the artifacts bucket's folder, and out of the data folder.
    const across = 'datasets/../../nimbus-artifacts/escape.csv';
    const out = 'datasets/../escape.csv';
    await client.upload(across, IRIS);
    await client.upload(out, IRIS);
    await platform.pipeline.idle();
    const artifacts = await client.s3.send(
      new ListObjectsV2Command({ Bucket: client.endpoints.artifactsBucket, Prefix: 'escape' }),
    );
    assert.equal(artifacts.KeyCount ?? 0, 0);
    const listed = await client.s3.send(
      new ListObjectsV2Command({ Bucket: client.endpoints.datasetsBucket, Prefix: 'datasets/../' }),
    );
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [across, out].sort());
    // `datasets/../escape.csv` is a CSV of the dataset "..": a name refused; the other starts nothing.
    const all = await runs();
    assert.equal(all.filter((r) => r.datasetKey === across).length, 0);
    const run = all.find((r) => r.datasetKey === out);
    assert.equal(run?.status, 'FAILED');
    assert.match(run.reason ?? '', /dataset name "\.\." is not valid/);
    // The object is in the datasets bucket's folder, and nowhere else in (or beside) the data folder.
    const found = readdirSync(local.dataDir, { recursive: true, encoding: 'utf8' })
      .filter((path) => path.includes('escape'))
      .map((path) => join(local.dataDir, path));
    for (const path of found) {
      assert.ok(path.startsWith(join(local.dataDir, 's3', client.endpoints.datasetsBucket)), path);
    }
    assert.deepEqual(
      readdirSync(dirname(local.dataDir)).filter((name) => name.includes('escape')),
      [],
    );
  });

  it('names its own run and key on every log line while many bad uploads fail at once', async () => {
    const { client, platform } = local;
    const lines: string[] = [];
    const tap = (stream: NodeJS.WriteStream) => {
      const write = stream.write;
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        if (typeof chunk === 'string') lines.push(...chunk.split('\n'));
        return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof stream.write;
      return () => {
        stream.write = write;
      };
    };
    const untap = [tap(process.stdout), tap(process.stderr)];
    try {
      const count = 8;
      // Each dataset's header names one column twice, its own: its findings say which dataset they are of.
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          client.upload(`datasets/ctx-${i}/d.csv`, `c${i},c${i},label\n${'1,2,a\n3,4,b\n'.repeat(8)}`),
        ),
      );
      await platform.pipeline.idle();
      const rejected = lines
        .filter((line) => line.includes('"dataset rejected"'))
        .map(
          (line) => JSON.parse(line.replace(/^# /, '')) as { key: string; runId: string; findings: string[] },
        );
      assert.equal(rejected.length, count, 'one line per rejected dataset');
      const byDataset = new Map((await runs()).map((r) => [r.dataset, r.runId]));
      for (const line of rejected) {
        const i = /^datasets\/ctx-(\d+)\//.exec(line.key)?.[1];
        assert.ok(i !== undefined, line.key);
        assert.ok(
          line.findings.some((f) => f.includes(`"c${i}"`)),
          `${line.key} logged another dataset's findings: ${line.findings.join('; ')}`,
        );
        assert.equal(line.runId, byDataset.get(`ctx-${i}`), `${line.key} logged another run's id`);
      }
    } finally {
      for (const restore of untap) restore();
    }
  });
});
