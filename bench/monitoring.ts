/**
 * The drift monitor on the local platform: how long drifted traffic takes to raise the drift alarm, and what
 * one monitor run costs.
 * - detection latency: iris traffic (one instance per request, every request captured, the capture's default
 *   flush: 200 records or 10 s) at RATE requests/s; from a moment on, the same flowers measured with petals
 *   2.5 cm longer. Time from the first shifted request to the drift alarm's ALARM (the `change` event of the
 *   local alarms, the same definitions as CloudWatch's), then back to normal traffic until OK; ROUNDS rounds at
 *   a monitor interval of INTERVAL_S. Peer: the bound the design gives — a capture flush, a monitor interval
 *   and an alarm evaluation (10 s + INTERVAL_S + 1 s), or, where traffic is slower than MIN_DRIFT_SAMPLES per
 *   flush, the time to send that many instead of the flush. In AWS the interval is 15 minutes by default. Each
 *   round starts just after a state change, that is just after a monitor run: the shifted traffic meets a
 *   whole interval, the worst phase but for the flush; traffic arriving at a random moment waits less.
 * - cost per run: the drift-monitor handler (as deployed: 512 MB arm64) over N captured predictions, timed in
 *   this process, against a peer in the same process: the same capture objects listed, read and parsed with
 *   nothing computed — the I/O floor any monitor of this capture pays. Priced with docs/cost.md's list prices:
 *   Lambda duration at 512 MB arm64, the request, S3 LIST/GET/PUT.
 * Figures, not a pass/fail gate: exits non-zero only when something fails to run.
 *
 *   npm run bench:monitoring -- [records…]       (default 1000 10000 50000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MIN_DRIFT_SAMPLES } from '../core/drift.ts';
import { KEYS } from '../core/keys.ts';
import { createRandom, shuffled } from '../core/random.ts';
import { REPO_ROOT } from '../core/repo.ts';
import type { AlarmChange } from '../local/monitoring.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { irisExample, PlatformClient } from '../test/helpers.ts';

const RECORDS = process.argv.slice(2).map(Number);
const SIZES = RECORDS.length > 0 ? RECORDS : [1_000, 10_000, 50_000];
if (SIZES.some((n) => !Number.isInteger(n) || n < 1))
  throw new Error(`record counts: whole numbers, not ${SIZES}`);
const MODEL = 'iris';
const INTERVAL_S = 5;
const RATE = 40;
const ROUNDS = 3;
const CONCURRENCY = 16;
/** us-east-1 list prices, as docs/cost.md uses them. */
const PRICE = {
  lambdaGbSecondArm: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  s3List: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  s3Put: 0.005 / 1000,
} as const;
const MEMORY_GB = 0.5;

const { lines, rows: SORTED } = irisExample();
/** In a fixed random order: the file is sorted by species, and traffic in file order is itself drift. */
const ROWS = shuffled(SORTED, createRandom(7));
const SHIFTED = ROWS.map((r) => ({ ...r, petal_length: (r.petal_length as number) + 2.5 }));
const DRIFT_ALARM = `nimbus/${MODEL}/drift`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const usd = (value: number) => `$${value.toPrecision(2)}`;

const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-monitoring-'));
const platform = await startLocalPlatform({
  dataDir,
  ports: { s3: 0, dynamodb: 0, api: 0, stepFunctions: 0 },
  captureRate: 1,
  monitorIntervalSeconds: INTERVAL_S,
});
const client = new PlatformClient(platform.endpoints);
platform.monitoring.on('monitorError', (error) => console.error('monitoring error:', error));

/** One instance per request, `count` requests, CONCURRENCY at a time (as fast as the platform answers). */
async function send(rows: readonly object[], count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const response = await client.predict(MODEL, { instances: [rows[i % rows.length]] });
      if (response.status !== 200)
        throw new Error(`predict answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Sends `rows` at RATE requests/s until the drift alarm reaches `state`; ms from the first request. */
async function trafficUntil(rows: readonly object[], state: 'ALARM' | 'OK'): Promise<number> {
  const started = performance.now();
  let reached = false;
  const reachedAt = new Promise<number>((resolve) => {
    const listener = (change: AlarmChange) => {
      if (change.alarm.name !== DRIFT_ALARM || change.to !== state) return;
      platform.monitoring.off('change', listener);
      reached = true;
      resolve(performance.now() - started);
    };
    platform.monitoring.on('change', listener);
  });
  for (let i = 0; !reached; i++) {
    if (performance.now() - started > 120_000) throw new Error(`${DRIFT_ALARM} not ${state} after 120 s`);
    await send([rows[i % rows.length] as object], 1);
    const due = started + ((i + 1) * 1000) / RATE;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  return reachedAt;
}

/** The peer: what reading the capture costs with nothing computed — list, get and parse every object. */
async function readCaptureOnly(): Promise<{ ms: number; objects: number; records: number }> {
  const started = performance.now();
  const bucket = platform.endpoints.artifactsBucket;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `${KEYS.capturePrefix}${MODEL}/`,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  let records = 0;
  let at = 0;
  const reader = async () => {
    for (let i = at++; i < keys.length; i = at++) {
      const out = await client.s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[i] }));
      const text = (await out.Body?.transformToString()) ?? '';
      for (const line of text.split('\n'))
        if (line) records += (JSON.parse(line) as { instances: unknown[] }).instances.length;
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));
  return { ms: performance.now() - started, objects: keys.length, records };
}

try {
  console.log(
    `# bench:monitoring — ${availableParallelism()} cores, Node ${process.version}; monitor every ${INTERVAL_S} s, ${RATE} req/s`,
  );
  await client.upload(`datasets/${MODEL}/iris.csv`, `${lines.join('\n')}\n`);
  const [run] = await client.waitForRuns(MODEL, 1, 180_000);
  if (run?.status !== 'SUCCEEDED') throw new Error(`training failed: ${run?.reason}`);

  // ---- detection latency ---------------------------------------------------------------------------------
  await trafficUntil(ROWS, 'OK'); // a first window of normal traffic: the alarm leaves INSUFFICIENT_DATA
  const raised: number[] = [];
  const cleared: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    raised.push(await trafficUntil(SHIFTED, 'ALARM'));
    cleared.push(await trafficUntil(ROWS, 'OK'));
    console.log(
      `round ${round}: shifted traffic → ALARM in ${s(raised.at(-1) ?? 0)}, normal → OK in ${s(cleared.at(-1) ?? 0)}`,
    );
  }
  const fill = Math.max(10_000, (MIN_DRIFT_SAMPLES / RATE) * 1000);
  const bound = fill + INTERVAL_S * 1000 + 1000;
  console.log(
    `detection latency: median ${s(median(raised))} to ALARM, ${s(median(cleared))} back to OK; ` +
      `bound (capture flush or ${MIN_DRIFT_SAMPLES} samples ${s(fill)} + interval ${INTERVAL_S} s + evaluation 1 s) ${s(bound)}`,
  );
  console.log(
    `  in AWS (interval 15 min): up to 10 s flush + 30 s settle + 15 min + CloudWatch's alarm evaluation (about a minute)`,
  );

  // ---- cost per run ----------------------------------------------------------------------------------------
  await platform.monitoring.stop(); // the schedule stops: each run below is timed alone
  await platform.flushCapture();
  const monitor = (await import(join(REPO_ROOT, 'functions', 'drift-monitor', 'handler.ts'))) as {
    handler: () => Promise<{ models: { model: string; samples: number }[]; seconds: number }>;
  };
  await monitor.handler(); // reads what the latency rounds left
  await rmCapture();
  console.log(
    '\nrecords   objects   monitor run   peer (read only)   monitor/peer   cost per run   per month (15 min)',
  );
  for (const records of SIZES) {
    await send(ROWS, records);
    await platform.flushCapture();
    const peer = await readCaptureOnly();
    const started = performance.now();
    const result = await monitor.handler();
    const ms = performance.now() - started;
    const samples = result.models.find((m) => m.model === MODEL)?.samples ?? 0;
    if (samples !== records) throw new Error(`the monitor read ${samples} samples of ${records}`);
    const billedMs = Math.max(1, Math.ceil(ms));
    const cost =
      MEMORY_GB * (billedMs / 1000) * PRICE.lambdaGbSecondArm +
      PRICE.lambdaRequest +
      Math.ceil(peer.objects / 1000 + 1) * PRICE.s3List +
      (peer.objects + 2) * PRICE.s3Get +
      2 * PRICE.s3Put;
    console.log(
      `${String(records).padStart(7)}   ${String(peer.objects).padStart(7)}   ${`${ms.toFixed(0)} ms`.padStart(11)}   ${`${peer.ms.toFixed(0)} ms`.padStart(16)}   ${`${(ms / peer.ms).toFixed(2)}×`.padStart(12)}   ${usd(cost).padStart(12)}   ${usd(cost * 2880).padStart(18)}`,
    );
    // The next size reads only its own records: the peer's objects are those of this window.
    await rmCapture();
  }
  console.log(
    `  priced at ${MEMORY_GB * 1024} MB arm64 Lambda ($${PRICE.lambdaGbSecondArm}/GB-s), $0.20 per 1M requests, S3 LIST $0.005/1k, GET $0.0004/1k, PUT $0.005/1k;`,
  );
  console.log(
    '  metrics (FeatureDrift, DriftScore, PredictionDrift, DriftSamples) are priced per month in docs/cost.md',
  );
} finally {
  client.destroy();
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

/** Deletes the capture read so far, so that the next size's peer reads only its own window. */
async function rmCapture(): Promise<void> {
  const bucket = platform.endpoints.artifactsBucket;
  for (;;) {
    const page = await client.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${KEYS.capturePrefix}${MODEL}/` }),
    );
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) return;
    await client.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
}
