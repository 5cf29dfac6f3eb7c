/**
 * The whole loop on one machine, driven as a user drives it: the AWS SDK uploads to the local S3, the
 * pipeline runs the ASL file, the model is served over real HTTP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KEYS } from '../core/contract.ts';
import type { TypedRow } from '../core/dataset.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { type LocalPlatform, startLocalPlatform } from '../local/platform.ts';
import { PlatformClient } from './helpers.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');

describe('the local platform, end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-e2e-'));
  let platform: LocalPlatform;
  let client: PlatformClient;

  before(async () => {
    platform = await startLocalPlatform({
      dataDir,
      ports: { s3: 0, dynamodb: 0, api: 0 },
      retryIntervalMs: 10,
    });
    client = new PlatformClient(platform.endpoints);
  });

  after(async () => {
    client.destroy();
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('trains iris uploaded with the AWS SDK (a streamed body) and predicts held-out rows with accuracy >= 0.9', async () => {
    await client.upload('datasets/iris/iris.csv', createReadStream(IRIS), statSync(IRIS).size);
    const [run] = await client.waitForRuns('iris');
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    assert.equal(run.modelVersion, 1);
    assert.equal(run.promoted, true);

    const heldOut = await client.artifactJson<TypedRow[]>(KEYS.data('iris', run.runId, 'test-rows.json'));
    assert.equal(heldOut.length, 30);
    const response = await client.predict('iris', { instances: heldOut });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      predictions: { label: string; probabilities: Record<string, number> }[];
      model_version: number;
    };
    assert.equal(body.model_version, 1);
    const correct = body.predictions.filter((p, i) => p.label === heldOut[i]?.species).length;
    assert.ok(correct / heldOut.length >= 0.9, `accuracy ${correct}/${heldOut.length}`);
    for (const p of body.predictions) {
      assert.deepEqual(Object.keys(p.probabilities).sort(), ['setosa', 'versicolor', 'virginica']);
      const total = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-4);
    }
  });

  it('registers version 1 with lineage to the exact bytes, and points production at it', async () => {
    const items = await client.modelItems('iris');
    const version = items.find((item) => item.sk === 'VERSION#000001') as
      | { lineage: { datasetHash: string; backend: string }; metrics: { accuracy: number } }
      | undefined;
    const alias = items.find((item) => item.sk === 'ALIAS#production');
    assert.ok(version && alias);
    assert.equal(version.lineage.datasetHash, createHash('sha256').update(readFileSync(IRIS)).digest('hex'));
    assert.equal(version.lineage.backend, 'wasm');
    assert.ok(version.metrics.accuracy >= 0.9);
    assert.equal(alias.version, 1);
  });

  it('answers 403 without the API key and 400 or 404 with a JSON error for bad requests', async () => {
    const instance = { sepal_length: 5.9, sepal_width: 3, petal_length: 5.1, petal_width: 1.8 };
    const expectStatus = async (response: Response, status: number, pattern: RegExp) => {
      assert.equal(response.status, status);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      const text = await response.text();
      assert.match(text, pattern);
      assert.doesNotMatch(text, /\n\s+at |\.ts:\d+/, 'no stack trace');
      return JSON.parse(text) as { field?: string; instance?: number };
    };
    await expectStatus(
      await client.predict('iris', { instances: [instance] }, { apiKey: null }),
      403,
      /Forbidden/,
    );
    await expectStatus(
      await client.predict('iris', { instances: [instance] }, { apiKey: 'wrong' }),
      403,
      /Forbidden/,
    );
    await expectStatus(await client.predict('iris', '{"instances": [', { raw: true }), 400, /not valid JSON/);
    const missing = await expectStatus(
      await client.predict('iris', { instances: [instance, { ...instance, petal_width: undefined }] }),
      400,
      /instances\[1\]\.petal_width is missing/,
    );
    assert.deepEqual([missing.field, missing.instance], ['petal_width', 1]);
    const wrongType = await expectStatus(
      await client.predict('iris', { instances: [{ ...instance, sepal_length: 'five' }] }),
      400,
      /instances\[0\]\.sepal_length must be a finite number/,
    );
    assert.deepEqual([wrongType.field, wrongType.instance], ['sepal_length', 0]);
    await expectStatus(
      await client.predict('nosuchmodel', { instances: [instance] }),
      404,
      /no version in production/,
    );
  });

  it('starts no new run when the same bytes arrive again, under the same or another key', async () => {
    await client.upload('datasets/iris/iris.csv', readFileSync(IRIS));
    await client.upload('datasets/iris/copy-of-iris.csv', readFileSync(IRIS));
    await platform.pipeline.idle();
    assert.equal((await client.runs('iris')).length, 1);
    const versions = (await client.modelItems('iris')).filter((item) =>
      String(item.sk).startsWith('VERSION#'),
    );
    assert.equal(versions.length, 1);
  });

  it('fails a malformed CSV with a readable reason, registers no model and serves nothing', async () => {
    const rows = Array.from({ length: 20 }, (_, i) =>
      i === 4 ? '1.0,2.0' : `${i},${i * 2},${i % 2 ? 'a' : 'b'}`,
    );
    await client.upload('datasets/broken/broken.csv', `x,y,label\n${rows.join('\n')}\n`);
    const [run] = await client.waitForRuns('broken');
    assert.equal(run?.status, 'FAILED');
    assert.match(
      run.reason ?? '',
      /^DatasetValidationError: 1 row\(s\) have the wrong number of fields: row 6 has 2 fields/,
    );
    assert.doesNotMatch(run.reason ?? '', /\n\s+at /);
    assert.deepEqual(await client.modelItems('broken'), []);
    assert.equal((await client.predict('broken', { instances: [{ x: 1, y: 2 }] })).status, 404);
  });

  it('keeps datasets, runs and models across a restart', async () => {
    const { endpoints } = platform;
    const port = (url: string) => Number(new URL(url).port);
    client.destroy();
    await platform.stop();
    platform = await startLocalPlatform({
      dataDir,
      ports: { s3: port(endpoints.s3), dynamodb: port(endpoints.dynamodb), api: port(endpoints.api) },
      apiKey: endpoints.apiKey,
    });
    client = new PlatformClient(platform.endpoints);
    assert.equal((await client.runs('iris'))[0]?.status, 'SUCCEEDED');
    assert.equal((await client.runs('broken'))[0]?.status, 'FAILED');
    const response = await client.predict('iris', {
      instances: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }],
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: { label: string }[]; model_version: number };
    assert.deepEqual([body.predictions[0]?.label, body.model_version], ['setosa', 1]);
  });
});
