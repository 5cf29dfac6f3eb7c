/**
 * The whole loop on one machine, driven as a user drives it: the AWS SDK uploads to the local S3, the
 * pipeline runs the ASL file, the model is served over real HTTP.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import type { ModelMetadataResponse, RunRecord, V2InferenceResponse } from '../../core/api-types.ts';

import { API } from '../../core/contract.ts';
import type { TypedRow } from '../../core/dataset.ts';
import { KEYS } from '../../core/keys.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { bundleFunction, invokeBundle, localPlatformFixture } from '../helpers.ts';
import { downloadExport, runExport } from '../onnx-exports.ts';
import { keyTests, protocolTests } from './protocols.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');

describe('the local platform, end to end', () => {
  const local = localPlatformFixture();
  // The model the tests share is trained before them: a slow run fails the first test, not every one after.
  let trained: RunRecord | undefined;
  before(async () => {
    await local.client.upload('datasets/iris/iris.csv', createReadStream(IRIS), statSync(IRIS).size);
    [trained] = await local.client.waitForRuns('iris');
  });

  it('trains iris uploaded with the AWS SDK (a streamed body) and predicts held-out rows with accuracy >= 0.9', async () => {
    const { client } = local;
    const run = trained;
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
    const { client } = local;
    const items = await client.modelItems('iris');
    const version = items.find((item) => item.sk === 'VERSION#000001') as
      | { lineage: { datasetHash: string; backend: string }; metrics: { accuracy: number } }
      | undefined;
    const alias = items.find((item) => item.sk === 'AUDIT#ALIAS#production#00000001') as
      | { state: { version: number } }
      | undefined;
    assert.ok(version && alias);
    assert.equal(version.lineage.datasetHash, createHash('sha256').update(readFileSync(IRIS)).digest('hex'));
    assert.equal(version.lineage.backend, 'wasm');
    assert.ok(version.metrics.accuracy >= 0.9);
    assert.equal(alias.state.version, 1);
  });

  it('answers 403 without the API key and 400 or 404 with a JSON error for bad requests', async () => {
    const { client } = local;
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
    // Every wrong field at once, and where the model's inputs are described.
    const several = await expectStatus(
      await client.predict('iris', { instances: [{ sepal_length: 5.1 }] }),
      400,
      /3 problems: instances\[0\]\.sepal_width is missing .*petal_length is missing .*petal_width is missing .*GET \/v1\/models\/iris\/metadata/,
    );
    assert.equal((several as { problems?: unknown[] }).problems?.length, 3);
    const wrongType = await expectStatus(
      await client.predict('iris', { instances: [{ ...instance, sepal_length: 'five' }] }),
      400,
      /instances\[0\]\.sepal_length must be a finite number/,
    );
    assert.deepEqual([wrongType.field, wrongType.instance], ['sepal_length', 0]);
    await expectStatus(
      await client.predict('nosuchmodel', { instances: [instance] }),
      404,
      /no model \\"nosuchmodel\\"/,
    );
    const many = { instances: Array.from({ length: 1001 }, () => instance) };
    await expectStatus(await client.predict('iris', many), 413, /at most 1000 are allowed/);
    await expectStatus(
      await client.predict('iris', 'sepal_length=5', {
        raw: true,
        contentType: 'application/x-www-form-urlencoded',
      }),
      415,
      /application\/json, not application\/x-www-form-urlencoded/,
    );
    // JSON sent as curl's -d sends it (application/x-www-form-urlencoded) is read, as TF Serving reads it.
    const curl = await client.predict('iris', JSON.stringify({ instances: [[6.1, 2.8, 4.7, 1.2]] }), {
      raw: true,
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.equal(curl.status, 200);
    assert.equal(((await curl.json()) as { predictions: { label: string }[] }).predictions.length, 1);
    await expectStatus(
      await client.predict('iris', { signature_name: 'foo', instances: [instance] }),
      400,
      /no signature \\"foo\\"/,
    );
    await expectStatus(await client.get(API.predictPath('iris')), 405, /use POST/);
  });

  it("answers TF Serving's model status and metadata routes", async () => {
    const { client } = local;
    const status = (await (await client.get('/v1/models/iris')).json()) as {
      model_version_status: { version: string; state: string }[];
    };
    assert.deepEqual(
      status.model_version_status.map((s) => [s.version, s.state]),
      [['1', 'AVAILABLE']],
    );
    const metadata = (await (await client.get('/v1/models/iris/metadata')).json()) as ModelMetadataResponse;
    assert.deepEqual(metadata.model_spec, { name: 'iris', signature_name: '', version: '1' });
    const signature = metadata.metadata.signature_def.signature_def.serving_default;
    const float = (...dims: number[]) => ({
      dtype: 'DT_FLOAT',
      tensor_shape: { dim: dims.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
    });
    assert.deepEqual(signature, {
      inputs: Object.fromEntries(
        ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name) => [
          name,
          { ...float(-1), name: `${name}:0` },
        ]),
      ),
      outputs: {
        label: { ...float(-1), dtype: 'DT_STRING', name: 'label:0' },
        probabilities: { ...float(-1, 3), name: 'probabilities:0' },
      },
      method_name: 'tensorflow/serving/predict',
    });
    assert.equal((await client.get('/v1/models/nosuchmodel/metadata')).status, 404);
  });

  it("answers TF Serving's Classify: every class with its probability per example, the context shared", async () => {
    const { client } = local;
    const instance = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };
    const { sepal_width, ...own } = instance;
    const response = await client.post('/v1/models/iris:classify', {
      signature_name: 'serving_default',
      context: { sepal_width },
      examples: [own, { ...own, petal_length: 1.4, petal_width: 0.2 }],
    });
    assert.equal(response.status, 200, await response.clone().text());
    const { result } = (await response.json()) as { result: [string, number][][] };
    assert.equal(result.length, 2);
    const predicted = (await (await client.predict('iris', { instances: [instance] })).json()) as {
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    assert.deepEqual(Object.fromEntries(result[0] ?? []), predicted.predictions[0]?.probabilities);
    assert.deepEqual(
      (result[0] ?? []).map(([label]) => label),
      ['setosa', 'versicolor', 'virginica'],
    );
    const top = (result[1] ?? []).reduce((a, b) => (b[1] > a[1] ? b : a));
    assert.equal(top[0], 'setosa');
    const regress = await client.post('/v1/models/iris:regress', { examples: [own] });
    assert.equal(regress.status, 400);
    assert.match(await regress.text(), /the model is a classifier: use :classify/);
    const noExamples = await client.post('/v1/models/iris:classify', { instances: [instance] });
    assert.equal(noExamples.status, 400);
    assert.match(((await noExamples.json()) as { error: string }).error, /an "examples" array/);
    assert.equal((await client.get('/v1/models/iris:classify')).status, 405);
  });

  protocolTests(local);

  it('never answers a random body with a 5xx: every 4xx is JSON with an error message (fuzzed)', async () => {
    const { client } = local;
    const feature = fc.oneof(fc.double(), fc.string(), fc.constant(null), fc.boolean(), fc.integer());
    const instanceArb = fc.dictionary(
      fc.oneof(
        fc.constantFrom('sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'),
        fc.string(),
      ),
      feature,
    );
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ instances: fc.array(instanceArb, { maxLength: 5 }) }).map((v) => JSON.stringify(v)),
      fc.record({ instances: fc.anything() }).map((v) => JSON.stringify(v) ?? ''),
    );
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const response = await client.predict('iris', raw, { raw: true });
        assert.ok(response.status < 500, `${response.status} for ${raw.slice(0, 200)}`);
        const answer = (await response.json()) as { error?: unknown; predictions?: unknown };
        if (response.status !== 200) assert.equal(typeof answer.error, 'string', raw.slice(0, 200));
      }),
      { numRuns: 1500, seed: 42 },
    );
  });

  it('predicts a CSV uploaded under batch/ into a predictions CSV, a bad row marked and the rest predicted', async () => {
    const { client } = local;
    const lines = readFileSync(IRIS, 'utf8').trim().split(/\r?\n/);
    const rows = [lines[0], ...lines.slice(1, 40), '5.0,abc,1.4,0.2,setosa', ...lines.slice(40)];
    await client.upload('batch/iris/all-flowers.csv', `${rows.join('\n')}\n`);
    const summary = await client.waitForArtifact<{
      rows: number;
      failed: number;
      version: number;
      output: string;
      error?: string;
    }>(KEYS.batchSummary('iris', 'all-flowers'));
    assert.equal(summary.error, undefined);
    assert.deepEqual([summary.rows, summary.failed, summary.version], [151, 1, 1]);
    const out = (await client.artifactText(KEYS.batchOutput('iris', 'all-flowers'))).trim().split('\n');
    assert.equal(out.length, 152);
    assert.equal(
      out[0],
      'sepal_length,sepal_width,petal_length,petal_width,species,prediction,probability_setosa,probability_versicolor,probability_virginica,error',
    );
    // CSV-quoted: the message has quotes in it.
    assert.equal(out[40], '5.0,abc,1.4,0.2,setosa,,,,,"sepal_width: ""abc"" is not a finite number"');
    const predicted = out
      .slice(1)
      .filter((line) => !line.includes('abc'))
      .map((line) => line.split(','));
    const correct = predicted.filter((cells) => cells[4] === cells[5]).length;
    assert.ok(correct / predicted.length >= 0.9, `batch accuracy ${correct}/${predicted.length}`);

    await client.upload('batch/iris/wrong.csv', 'a,b\n1,2\n');
    const wrong = await client.waitForArtifact<{ error?: string }>(KEYS.batchSummary('iris', 'wrong'));
    assert.match(wrong.error ?? '', /no column "sepal_length"/);
    await client.upload('batch/nobody/x.csv', 'a\n1\n');
    const none = await client.waitForArtifact<{ error?: string }>(KEYS.batchSummary('nobody', 'x'));
    assert.match(none.error ?? '', /no version in production/);

    // Rows short and long, and a cell a spreadsheet would run: every output row is as wide as the header,
    // and the formula is written as text.
    const header = 'sepal_length,sepal_width,petal_length,petal_width';
    await client.upload(
      'batch/iris/ragged.csv',
      `${header}\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4\n5.1,3.5,1.4,0.2,extra\n=HYPERLINK("http://x"),3.5,1.4,0.2\n`,
    );
    await client.waitForArtifact(KEYS.batchSummary('iris', 'ragged'));
    const { parse } = await import('csv-parse/sync');
    const table = parse(await client.artifactText(KEYS.batchOutput('iris', 'ragged'))) as string[][];
    const width = (table[0] as string[]).length;
    assert.deepEqual(
      table.map((row) => row.length),
      table.map(() => width),
    );
    assert.equal(table[4]?.[0], `'=HYPERLINK("http://x")`);
  });

  it('starts no new run when the same bytes arrive again, under the same or another key', async () => {
    const { client, platform } = local;
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
    const { client } = local;
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

  it('serves a dense model from the predict Lambda bundle as CDK builds it, loading neither tfjs nor sharp', async () => {
    const { platform } = local;
    const bundle = bundleFunction('predict');
    try {
      const event = {
        path: '/v1/models/iris:predict',
        httpMethod: 'POST',
        body: JSON.stringify({
          instances: [{ sepal_length: 6.7, sepal_width: 3, petal_length: 5.2, petal_width: 2.3 }],
        }),
        isBase64Encoded: false,
        requestContext: { requestId: 'bundle-test' },
      };
      const result = await invokeBundle(bundle.dir, event, platform.endpoints);
      assert.equal(result.statusCode, 200, result.body);
      assert.equal(
        (JSON.parse(result.body) as { predictions: { label: string }[] }).predictions[0]?.label,
        'virginica',
      );
      assert.deepEqual(result.loaded, { tfjs: false, sharp: false }, 'a dense model runs as plain JS');
      assert.ok(
        bundle.files.some((file) => file.endsWith('.wasm')),
        'a CNN loads wasm from the bundle folder',
      );
      assert.equal(existsSync(join(bundle.dir, 'node_modules', 'sharp')), false, 'sharp is in its layer');
    } finally {
      rmSync(bundle.outdir, { recursive: true, force: true });
    }
  });

  it('trains a regression MLP on diabetes (a numeric target with many values): R² on held-out rows, values over HTTP', async (t) => {
    const { client } = local;
    await client.upload(
      'datasets/diabetes/diabetes.csv',
      readFileSync(new URL('../fixtures/diabetes.csv', import.meta.url)),
    );
    const [run] = await client.waitForRuns('diabetes');
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    const metrics = run.metrics as { r2: number; rmse: number; mae: number };
    // scikit-learn's linear regression reaches R² ≈ 0.45 on a held-out fifth of this dataset.
    assert.ok(metrics.r2 >= 0.3, `R² ${metrics.r2}`);
    t.diagnostic(
      `diabetes: R² ${metrics.r2.toFixed(3)}, RMSE ${metrics.rmse.toFixed(1)}, MAE ${metrics.mae.toFixed(1)}`,
    );
    assert.ok(metrics.rmse > 0 && metrics.mae > 0 && metrics.mae <= metrics.rmse);

    const heldOut = await client.artifactJson<TypedRow[]>(KEYS.data('diabetes', run.runId, 'test-rows.json'));
    const response = await client.predict('diabetes', { instances: heldOut.slice(0, 20) });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: { value: number }[] };
    assert.equal(body.predictions.length, 20);
    const errors = body.predictions.map((p, i) => Math.abs(p.value - Number(heldOut[i]?.progression)));
    assert.ok(
      errors.reduce((a, b) => a + b, 0) / errors.length < 2 * metrics.mae + 1,
      'served values are as good as the evaluated ones',
    );
    // TF Serving's Regress: the same values for the same rows, as examples.
    const regress = await client.post('/v1/models/diabetes:regress', { examples: heldOut.slice(0, 20) });
    assert.equal(regress.status, 200);
    const regressed = (await regress.json()) as { result: number[] };
    assert.deepEqual(
      regressed.result,
      body.predictions.map((p) => p.value),
    );
    // The Open Inference Protocol: the same values as a `value` FP32 tensor, from one tensor per feature.
    const rows = heldOut.slice(0, 20);
    const features = Object.keys(rows[0] ?? {}).filter((name) => name !== 'progression');
    const inferred = await client.post('/v2/models/diabetes/infer', {
      inputs: features.map((name) => ({
        name,
        shape: [rows.length],
        datatype: 'FP32',
        data: rows.map((row) => row[name]),
      })),
    });
    assert.equal(inferred.status, 200, await inferred.clone().text());
    const { outputs } = (await inferred.json()) as V2InferenceResponse;
    assert.deepEqual(
      outputs.map((o) => [o.name, o.datatype, o.shape, o.data]),
      [['value', 'FP32', [20], regressed.result]],
    );
    // Exported as ONNX, the same values in the target's units (within 1e-5 of the target's spread).
    const exported = await runExport(await downloadExport(local.platform.endpoints, 'diabetes', 1), rows);
    const values = exported.value?.data as Float64Array;
    body.predictions.forEach((p, i) => {
      assert.ok(Math.abs((values[i] as number) - p.value) < 1e-3, `row ${i}: ${values[i]} vs ${p.value}`);
    });
    const wrongTask = await client.post('/v1/models/diabetes:classify', { examples: heldOut.slice(0, 1) });
    assert.equal(wrongTask.status, 400);
    assert.match(await wrongTask.text(), /the model is a regressor: use :regress/);
  });

  keyTests(local);

  it('keeps datasets, runs and models across a restart, and ends the runs a killed platform left', async () => {
    // What a platform killed mid-run leaves: a run record still RUNNING, whose execution died with it.
    const now = new Date().toISOString();
    await local.client.db.send(
      new PutCommand({
        TableName: local.client.endpoints.tables.runs,
        Item: {
          runId: 'killed-mid-run',
          status: 'RUNNING',
          step: 'Preprocess',
          dataset: 'iris',
          datasetKey: 'datasets/iris/iris.csv',
          startedAt: now,
          updatedAt: now,
        },
      }),
    );
    await local.restart();
    const { client } = local;
    const runs = await client.runs('iris');
    const orphan = runs.find((r) => r.runId === 'killed-mid-run');
    assert.equal(orphan?.status, 'FAILED');
    assert.equal(orphan?.reason, 'the local platform stopped while the run was in Preprocess');
    assert.equal(runs.find((r) => r.runId !== 'killed-mid-run')?.status, 'SUCCEEDED');
    assert.equal((await client.runs('broken'))[0]?.status, 'FAILED');
    const response = await client.predict('iris', {
      instances: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }],
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: { label: string }[]; model_version: number };
    assert.deepEqual([body.predictions[0]?.label, body.model_version], ['setosa', 1]);
  });
});
