/**
 * Accuracy with the defaults, as a user gets it: datasets uploaded to the local platform with no manifest,
 * trained by the pipeline, scored by Evaluate on its held-out test split (`metrics.json`).
 * - Tables (iris, wine, breast cancer from examples/): the platform's MLP against scikit-learn's
 *   LogisticRegression fitted on the very same preprocessed training split and scored on the same test rows
 *   (bench/peers/sklearn_logistic.py, with /usr/bin/python3: `apt-get install python3-sklearn`).
 * - Images: MNIST digits from the `mnist` package, uploaded as a folder of PNGs (429 a digit: the default
 *   split leaves 3,000 to train on, 430 to validate, 860 to test), through the default image model.
 *
 *   npm run bench:accuracy                 (both)
 *   npm run bench:accuracy -- tables       (or: images)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import type { RunRecord } from '../core/api-types.ts';
import { KEYS as ALL_KEYS, ARTIFACTS } from '../core/keys.ts';
import type { ModelMetrics } from '../core/metrics.ts';
import { splitData } from '../core/model-data.ts';
import type { ProcessedSplit, TrainingCard } from '../core/pipeline.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { PlatformClient } from '../test/helpers.ts';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const which = process.argv[2] ?? 'all';
const TABLES = ['iris', 'wine', 'breast-cancer'];
const DIGITS_PER_CLASS = 429;

const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-accuracy-'));
const platform = await startLocalPlatform({
  dataDir,
  ports: { s3: 0, dynamodb: 0, api: 0, stepFunctions: 0 },
});
const client = new PlatformClient(platform.endpoints);

async function artifactBytes(key: string): Promise<Uint8Array> {
  const out = await client.s3.send(
    new GetObjectCommand({ Bucket: platform.endpoints.artifactsBucket, Key: key }),
  );
  return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
}

/** The run's test figures and card, once the pipeline has finished. */
async function finished(model: string): Promise<{ run: RunRecord; test: ModelMetrics; card: TrainingCard }> {
  const [run] = await client.waitForRuns(model, 1, 3_600_000);
  if (run?.status !== 'SUCCEEDED') throw new Error(`${model}: ${run?.status} ${run?.reason ?? ''}`);
  const prefix = ALL_KEYS.modelPrefix(model, run.runId);
  const { test } = await client.artifactJson<{ test: ModelMetrics }>(prefix + ARTIFACTS.metrics);
  return { run, test, card: await client.artifactJson<TrainingCard>(prefix + ARTIFACTS.card) };
}

/** scikit-learn's LogisticRegression on the run's own preprocessed train and test splits. */
async function logisticRegression(
  model: string,
  runId: string,
): Promise<{ accuracy: number; sklearn: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-bench-sklearn-'));
  try {
    let width = 0;
    for (const name of ['train', 'test'] as const) {
      const split = await client.artifactJson<ProcessedSplit>(ALL_KEYS.data(model, runId, `${name}.json`));
      const data = await splitData(split, artifactBytes);
      width = data.x.length / data.labels.length;
      writeFileSync(join(dir, `${name}.x`), data.x);
      writeFileSync(join(dir, `${name}.y`), Int32Array.from(data.labels));
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ width }));
    const script = join(REPO_ROOT, 'bench', 'peers', 'sklearn_logistic.py');
    const { stdout } = await promisify(execFile)(PYTHON, [script, dir]);
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { accuracy: number; sklearn: string };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function tables(): Promise<void> {
  for (const name of TABLES) {
    await client.upload(
      `datasets/${name}/${name}.csv`,
      readFileSync(join(REPO_ROOT, 'examples', `${name}.csv`)),
    );
  }
  console.log('tables, defaults (MLP) vs scikit-learn LogisticRegression on the same split (test rows):');
  console.log(
    `  ${'dataset'.padEnd(14)} ${'rows'.padStart(5)} ${'nimbus'.padStart(7)} ${'sklearn'.padStart(8)} ${'diff'.padStart(7)}`,
  );
  for (const name of TABLES) {
    const { run, test } = await finished(name);
    const peer = await logisticRegression(name, run.runId);
    const ours = test.accuracy ?? Number.NaN;
    console.log(
      `  ${name.padEnd(14)} ${String(test.count).padStart(5)} ${ours.toFixed(3).padStart(7)} ${peer.accuracy.toFixed(3).padStart(8)} ${(ours - peer.accuracy).toFixed(3).padStart(7)}   (scikit-learn ${peer.sklearn})`,
    );
  }
}

async function images(): Promise<void> {
  const mnist = createRequire(import.meta.url)('mnist') as Record<
    number,
    { range(a: number, b: number): number[][] }
  >;
  const model = 'mnist-digits';
  const started = performance.now();
  const uploads: (() => Promise<unknown>)[] = [];
  for (let digit = 0; digit < 10; digit++) {
    for (const [i, pixels] of (mnist[digit]?.range(0, DIGITS_PER_CLASS) ?? []).entries()) {
      uploads.push(async () => {
        const raw = Buffer.from(pixels.map((v) => Math.round(v * 255)));
        const png = await sharp(raw, { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toBuffer();
        await client.upload(`datasets/${model}/${digit}/${String(i).padStart(4, '0')}.png`, png);
      });
    }
  }
  for (let i = 0; i < uploads.length; i += 32) await Promise.all(uploads.slice(i, i + 32).map((u) => u()));
  await client.upload(`datasets/${model}/_SUCCESS`, '');
  const { test, card } = await finished(model);
  const seconds = (performance.now() - started) / 1000;
  const { training } = card;
  console.log(
    `images, defaults (${String(card.lineage.hyperparameters.architecture)}): MNIST ${training.samples} training images, ` +
      `${test.count} held out: accuracy ${test.accuracy?.toFixed(4)} (target ≥ 0.98) — ${training.epochs} epochs ` +
      `(best ${training.bestEpoch}${training.stoppedEarly ? `, stopped early at ${training.stoppedEarly}` : ''}` +
      `${training.stoppedOnBudget ? ', stopped on budget' : ''}), training ${training.seconds.toFixed(0)} s, ` +
      `upload → evaluated ${seconds.toFixed(0)} s, backend ${card.lineage.backend}`,
  );
}

try {
  if (which === 'all' || which === 'tables') await tables();
  if (which === 'all' || which === 'images') await images();
} finally {
  client.destroy();
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
