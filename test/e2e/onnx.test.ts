/**
 * Bring your own model, on the local platform over real HTTP: ONNX files exported by PyTorch's own exporter
 * (test/fixtures/onnx/make.py) go upload → ImportModel → registry (lineage `external`) → gate → production
 * beside a version we trained, a canary between ours and theirs, predictions equal to PyTorch's own outputs,
 * the capture, and a drift report; our own version exported as ONNX (HTTP and CLI) that onnxruntime-node runs
 * to the predict API's answers; and files the platform refuses fail their run with the reason.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';
import { EXIT } from '../../cli/output.ts';
import type { RunRecord } from '../../core/api-types.ts';
import { API, ENV } from '../../core/contract.ts';
import type { TypedRow } from '../../core/dataset.ts';
import type { DriftReport } from '../../core/drift.ts';
import { KEYS } from '../../core/keys.ts';
import type { ModelVersion } from '../../core/model-registry.ts';
import { ONNX_EXPORT_FORMAT } from '../../core/onnx-export.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import { localPlatformFixture } from '../helpers.ts';
import { expectError, expectExit, nimbus } from '../nimbus-cli.ts';
import { assertSameAsPredict, downloadExport, runExport } from '../onnx-exports.ts';

process.env[ENV.aliasCacheMs] = '0';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'onnx');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as {
  iris: { features: number[][]; probabilities: number[][]; accuracy: number };
  digits: { pixels: number[][][]; logits: number[][] };
};
const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'), 'utf8');
const [HEADER = '', ...LINES] = IRIS.trim().split(/\r?\n/);
const FEATURES = HEADER.split(',').slice(0, 4);
const CLASSES = ['setosa', 'versicolor', 'virginica'];
const MODEL = 'blooms';
const instance = (values: readonly number[]) => Object.fromEntries(FEATURES.map((f, i) => [f, values[i]]));

describe('bring your own model (ONNX)', () => {
  const local = localPlatformFixture({ captureRate: 1, captureFlushMs: 0, monitorIntervalSeconds: 2 });

  /** The run a key's upload started, once it ended (bounded). */
  async function runOf(model: string, key: string): Promise<RunRecord> {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const run = (await local.client.runs(model)).find((r) => r.datasetKey === key);
      if (run && run.status !== 'RUNNING') return run;
      assert.ok(Date.now() < deadline, `no finished run for ${key}: ${JSON.stringify(run)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const version = (model: string, v: number) =>
    local.client.registryJson<ModelVersion>(`/models/${model}/versions/${v}`);
  const post = async (path: string, body: unknown) => {
    const response = await local.client.registry(path, body);
    assert.equal(response.status, 200, await response.text());
  };

  let ours: RunRecord | undefined;
  before(async () => {
    // Our own version first (v1, in production): the import then competes with it.
    await local.client.upload(`datasets/${MODEL}/iris.csv`, IRIS);
    [ours] = await local.client.waitForRuns(MODEL, 1);
  });

  it('imports a PyTorch MLP with its manifest: evaluated, gated against our version, in production', async () => {
    assert.equal(ours?.status, 'SUCCEEDED', ours?.reason);
    const { client } = local;
    await client.upload(`models/${MODEL}/eval.csv`, IRIS);
    await client.upload(
      `models/${MODEL}/model.json`,
      JSON.stringify({
        labels: CLASSES,
        label: 'species',
        inputs: { features: FEATURES },
        evaluation: { key: `models/${MODEL}/eval.csv` },
        gate: { metric: 'accuracy', maxRegression: 0.1 },
      }),
    );
    const key = `models/${MODEL}/iris-mlp.onnx`;
    await client.upload(key, readFileSync(join(FIXTURES, 'iris-mlp.onnx')));
    const run = await runOf(MODEL, key);
    assert.equal(run.status, 'SUCCEEDED', run.reason);
    assert.equal(run.modelVersion, 2);
    assert.equal(run.promoted, true, run.reason);

    const v2 = await version(MODEL, 2);
    assert.equal(v2.lineage.external?.format, 'onnx');
    assert.equal(v2.lineage.external?.producerName, 'pytorch');
    assert.equal(v2.lineage.external?.key, key);
    assert.match(v2.lineage.external?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(v2.lineage.external?.opsets['ai.onnx'], 13);
    assert.equal(v2.lineage.datasetKey, `models/${MODEL}/eval.csv`);
    // Evaluated on all 150 flowers by the platform, as PyTorch scored them.
    assert.equal(v2.metrics.count, 150);
    assert.equal(Math.round((v2.metrics.accuracy ?? 0) * 150), Math.round(expected.iris.accuracy * 150));
  });

  it("answers over HTTP with PyTorch's own probabilities, and refuses a bad instance by its field", async () => {
    const { client } = local;
    const response = await client.predict(MODEL, { instances: expected.iris.features.map(instance) });
    const body = (await response.json()) as {
      predictions: { label: string; probabilities: Record<string, number> }[];
      model_version: number;
    };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.model_version, 2);
    body.predictions.forEach((p, i) => {
      CLASSES.forEach((c, j) => {
        const want = expected.iris.probabilities[i]?.[j] as number;
        assert.ok(
          Math.abs((p.probabilities[c] as number) - want) < 1e-5,
          `row ${i} ${c}: ${p.probabilities[c]} vs ${want}`,
        );
      });
    });
    // Columnar input, the same answers.
    const columns = Object.fromEntries(
      FEATURES.map((f, j) => [f, expected.iris.features.map((row) => row[j])]),
    );
    const columnar = await client.predict(MODEL, { inputs: columns });
    assert.equal(columnar.status, 200);

    const missing = await client.predict(MODEL, { instances: [{ sepal_length: 5 }] });
    const missingBody = (await missing.json()) as { error: string; field?: string };
    assert.equal(missing.status, 400);
    assert.match(missingBody.error, /sepal_width is missing/);
    const nulled = await client.predict(MODEL, {
      instances: [{ ...instance([5, 3, 1, 0.2]), petal_width: null }],
    });
    assert.equal(nulled.status, 400);
    assert.match(((await nulled.json()) as { error: string }).error, /petal_width is null.*send a number/);
    const extra = await client.predict(MODEL, { instances: [{ ...instance([5, 3, 1, 0.2]), colour: 1 }] });
    assert.equal(extra.status, 400);
    assert.doesNotMatch(await extra.text(), /at .*\.ts|onnxruntime/);
  });

  it('exports our version as an ONNX file that answers as the predict API does, and an imported one as it came', async () => {
    const { client } = local;
    const bytes = await downloadExport(local.platform.endpoints, MODEL, 1);
    // onnxruntime-node runs it on every flower: the predict API's probabilities and labels, within 1e-5.
    const rows = LINES.map((line) => instance(line.split(',').slice(0, 4).map(Number)) as TypedRow);
    const predicted = await client.predict(MODEL, { instances: rows }, { target: '/versions/1' });
    const { predictions } = (await predicted.json()) as {
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    assert.equal(predicted.status, 200);
    assertSameAsPredict(await runExport(bytes, rows), predictions, CLASSES);

    // Kept in the version's folder: asked again, the same object; an export of another format is written anew.
    const v1 = await version(MODEL, 1);
    const exported = { Bucket: client.endpoints.artifactsBucket, Key: `${v1.artifactPrefix}export.onnx` };
    const kept = await client.s3.send(new HeadObjectCommand(exported));
    assert.equal(kept.Metadata?.['nimbus-export'], ONNX_EXPORT_FORMAT);
    await downloadExport(local.platform.endpoints, MODEL, 1);
    assert.equal((await client.s3.send(new HeadObjectCommand(exported))).ETag, kept.ETag);
    await client.s3.send(
      new PutObjectCommand({ ...exported, Body: 'an older format', Metadata: { 'nimbus-export': '0' } }),
    );
    assert.deepEqual(await downloadExport(local.platform.endpoints, MODEL, 1), bytes);

    // The CLI writes the same file (kept since the first export), and the imported version is its own file.
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-export-'));
    try {
      const endpoints = join(dir, 'endpoints.json');
      writeEndpointsFile(endpoints, local.platform.endpoints);
      const cli = (...args: string[]) => nimbus(['--endpoints-file', endpoints, ...args]);
      const ours = expectExit(await cli('models', 'export', MODEL, '1', '-o', join(dir, 'ours.onnx')), 0);
      assert.match(ours.stdout, /wrote .*ours\.onnx/);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'ours.onnx'))), bytes);
      // Into a folder, under the version's name; without a version, the one production serves (the import).
      expectExit(await cli('models', 'export', MODEL, '1', '-o', dir), 0);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, `${MODEL}-v1.onnx`))), bytes);
      const production = expectExit(await cli('models', 'export', MODEL, '-o', dir), 0);
      assert.match(production.stdout, /blooms v2 as ONNX/);
      expectExit(await cli('models', 'export', MODEL, '2', '-o', join(dir, 'theirs.onnx')), 0);
      assert.deepEqual(readFileSync(join(dir, 'theirs.onnx')), readFileSync(join(FIXTURES, 'iris-mlp.onnx')));
      const none = await cli('models', 'export', MODEL, '99', '-o', join(dir, 'none.onnx'));
      expectError(none, EXIT.notFound, /no version 99|version 99/);
      assert.equal(existsSync(join(dir, 'none.onnx')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splits production between our version and the imported one, and captures both', async () => {
    const { client } = local;
    await post(`/models/${MODEL}/aliases/production/canary`, {
      version: 1,
      weight: 0.5,
      reason: 'ours vs theirs',
    });
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) {
      const response = await client.predict(MODEL, { instances: [instance([5.9, 3, 5.1, 1.8])] });
      assert.equal(response.status, 200, await response.text());
      seen.add(response.headers.get(API.versionHeader) ?? '');
    }
    assert.deepEqual([...seen].sort(), ['1', '2']);
    await post(`/models/${MODEL}/aliases/production/rollback`, { reason: 'end the canary' });
    const listed = await client.s3.send(
      new ListObjectsCommand({ Bucket: client.endpoints.artifactsBucket, Prefix: `capture/${MODEL}/` }),
    );
    const versions = new Set<number>();
    for (const { Key } of listed.Contents ?? []) {
      const object = await client.s3.send(
        new GetObjectCommand({ Bucket: client.endpoints.artifactsBucket, Key }),
      );
      for (const line of (await object.Body?.transformToString())?.trim().split('\n') ?? []) {
        versions.add((JSON.parse(line) as { version: number }).version);
      }
    }
    assert.ok(versions.has(1) && versions.has(2), `captured versions ${[...versions]}`);
  });

  it('predicts a batch CSV with the imported version, failing a row with an empty cell by name', async () => {
    const { client } = local;
    const rows = [HEADER, ...LINES.slice(0, 4), '5.1,,1.4,0.2,setosa'].join('\n');
    await client.upload(`batch/${MODEL}/flowers.csv`, `${rows}\n`);
    const summary = await client.waitForArtifact<{ version: number; rows: number; failed: number }>(
      KEYS.batchSummary(MODEL, 'flowers'),
    );
    assert.deepEqual([summary.version, summary.rows, summary.failed], [2, 5, 1]);
    const output = await client.artifactText(KEYS.batchOutput(MODEL, 'flowers'));
    assert.match(output, /sepal_width is empty, and this model has no value for a missing one/);
    assert.match(output.split('\n')[1] ?? '', /setosa/);
  });

  it('reports drift of the traffic against the evaluation table', async () => {
    const { client } = local;
    const rows = LINES.map((line) => instance(line.split(',').map(Number)));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const response = await client.predict(MODEL, { instances: rows.slice(0, 100) });
      assert.equal(response.status, 200);
      const drift = await client.get(`/v1/monitoring/models/${MODEL}/drift`);
      const { reports } = (await drift.json()) as { reports: DriftReport[] };
      const report = reports.find((r) => r.version === 2);
      if (report) {
        assert.ok(report.samples >= 200);
        assert.ok(Object.keys(report.features ?? {}).includes('petal_length'), JSON.stringify(report));
        return;
      }
      assert.ok(Date.now() < deadline, 'no drift report for the imported version');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  it('imports a PyTorch CNN without evaluation: registered, not promoted, served by version from PNGs', async () => {
    const { client } = local;
    const labels = Array.from({ length: 10 }, (_, i) => String(i));
    await client.upload('models/digits8/model.json', JSON.stringify({ labels, output: { kind: 'logits' } }));
    const key = 'models/digits8/digits-cnn.onnx';
    await client.upload(key, readFileSync(join(FIXTURES, 'digits-cnn.onnx')));
    const run = await runOf('digits8', key);
    assert.equal(run.status, 'SUCCEEDED', run.reason);
    assert.equal(run.promoted, false);
    assert.match(run.reason ?? '', /without an evaluation table/);

    const pngs = await Promise.all(
      expected.digits.pixels.map((image) =>
        sharp(Uint8Array.from(image.flat()), { raw: { width: 8, height: 8, channels: 1 } })
          .png()
          .toBuffer(),
      ),
    );
    const response = await client.predict(
      'digits8',
      { instances: pngs.map((png) => ({ b64: png.toString('base64') })) },
      { target: '/versions/1' },
    );
    const body = (await response.json()) as { predictions: { probabilities: Record<string, number> }[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    body.predictions.forEach((p, i) => {
      const logits = expected.digits.logits[i] as number[];
      const max = Math.max(...logits);
      const exp = logits.map((v) => Math.exp(v - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      labels.forEach((label, j) => {
        assert.ok(
          Math.abs((p.probabilities[label] as number) - (exp[j] as number) / sum) < 1e-5,
          `image ${i}`,
        );
      });
    });
  });

  it('fails the run of a file it will not run, naming why', async () => {
    const { client } = local;
    const cases: [string, Uint8Array | string, RegExp][] = [
      ['models/junk/model.onnx', 'not a model at all', /is not an ONNX model/],
      [
        'models/custom/custom.onnx',
        customOperatorModel(),
        /custom operators com\.example\.kernels::FastGelu/,
      ],
      // Logits where the manifest (by default) says probabilities.
      [
        'models/logits/digits.onnx',
        readFileSync(join(FIXTURES, 'digits-cnn.onnx')),
        /not class probabilities/,
      ],
      [
        'models/Bad_Name/x.onnx',
        readFileSync(join(FIXTURES, 'iris-mlp.onnx')),
        /model name "Bad_Name" is not valid/,
      ],
    ];
    await client.upload(
      'models/logits/model.json',
      JSON.stringify({ labels: Array.from({ length: 10 }, (_, i) => `d${i}`) }),
    );
    for (const [key, bytes] of cases) await client.upload(key, bytes);
    for (const [key, , reason] of cases) {
      const model = key.split('/')[1] as string;
      const run = await runOf(model, key);
      assert.equal(run.status, 'FAILED', key);
      assert.match(run.reason ?? '', reason);
      assert.doesNotMatch(run.reason ?? '', /\n\s+at /);
    }
  });
});

/** A graph of one node of a custom domain's operator: what a model with its own kernels looks like. */
function customOperatorModel(): Uint8Array {
  const { onnx } = onnxProto;
  const tensor = (name: string) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: 'n' }, { dimValue: 4 }] },
        },
      },
    });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'hand-made',
      opsetImport: [
        { domain: '', version: 13 },
        { domain: 'com.example.kernels', version: 1 },
      ],
      graph: {
        name: 'custom',
        node: [{ opType: 'FastGelu', domain: 'com.example.kernels', input: ['x'], output: ['y'] }],
        input: [tensor('x')],
        output: [tensor('y')],
      },
    }),
  ).finish();
}
