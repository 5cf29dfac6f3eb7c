/**
 * Hostile predict bodies against the local platform (bench/abuse-shapes.ts: every shape up to API Gateway's
 * 10 MB; tabular ones to iris, image ones to a small image model trained here), each measured three ways,
 * against a valid 1-instance iris request as the peer measured in the same run:
 * - **handler CPU**: the predict handler's CPU time for the body (this process, the handler called directly,
 *   nothing else running), median of 5, and its ratio to the peer's;
 * - **a concurrent valid predict**: while a client process sends the shape 3 times over HTTP, another sends
 *   valid predicts one after another; their latency (median and worst of those that overlapped the hostile
 *   requests) against the same client's idle median (no hostile traffic). Target: median within 3×;
 * - **peak RSS** of this process (the platform's) while the shape is handled, above what it was before.
 * Both clients are processes of their own, so neither shares the platform's event loop or memory.
 * Exits 0 when a target is missed (it says so), non-zero when something fails to run.
 *
 *   npm run bench:abuse
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { zipSync } from 'fflate';
import { KEYS } from '../core/keys.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { childEnvironment } from '../local/lambda-runtime.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { PlatformClient } from '../test/helpers.ts';
import type { ClientOptions, Timed } from './abuse-client.ts';
import { blackPng, IMAGE_MODEL, SHAPES, VALID_BODY } from './abuse-shapes.ts';

const TARGET_RATIO = 3;
const HOSTILE_TIMES = 3;
const CPU_RUNS = 5;

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const quantile = (values: readonly number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))] ?? 0;
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

/** Runs bench/abuse-client.ts; resolves with its last line, parsed. `ready` resolves once it says so. */
function client(options: ClientOptions): {
  ready: Promise<void>;
  result: Promise<Timed[]>;
  stop: () => void;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'bench', 'abuse-client.ts'), JSON.stringify(options)],
    {
      env: childEnvironment(),
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  let readied: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    readied = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.includes('ready\n')) readied();
  });
  const result = new Promise<Timed[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0)
        return reject(new Error(`client ${options.role} ${options.shape ?? ''} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '[]') as Timed[]);
    });
  });
  return { ready, result, stop: () => child.stdin.end() };
}

const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-abuse-'));
const platform = await startLocalPlatform({
  dataDir,
  ports: { s3: 0, dynamodb: 0, api: 0, stepFunctions: 0 },
  captureRate: 0,
  retryIntervalMs: 10,
});
try {
  const setup = new PlatformClient(platform.endpoints);
  await setup.upload('datasets/iris/iris.csv', readFileSync(join(REPO_ROOT, 'examples', 'iris.csv')));
  // An image model too (its shapes are images): 24 tiny PNGs of two classes, one epoch.
  const png = await blackPng(8);
  await setup.upload(KEYS.manifest(IMAGE_MODEL), JSON.stringify({ hyperparameters: { epochs: 1 } }));
  await setup.upload(
    `datasets/${IMAGE_MODEL}/images.zip`,
    zipSync(Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`${i % 2 ? 'a' : 'b'}/${i}.png`, png]))),
  );
  for (const model of ['iris', IMAGE_MODEL]) {
    const [run] = await setup.waitForRuns(model, 1, 600_000);
    if (run?.status !== 'SUCCEEDED') throw new Error(`${model} did not train: ${run?.reason}`);
  }
  setup.destroy();
  const url = `${platform.endpoints.api}/v1/models/iris:predict`;
  const apiKey = platform.endpoints.apiKey;

  // The handler the platform serves with (the same module), called directly for its CPU time.
  const { handler } = (await import(join(REPO_ROOT, 'functions', 'predict', 'handler.ts'))) as {
    handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  };
  const event = (body: string, model = 'iris') =>
    ({
      path: `/v1/models/${model}:predict`,
      httpMethod: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      isBase64Encoded: false,
      requestContext: { requestId: 'bench' },
    }) as unknown as APIGatewayProxyEvent;
  const cpu = async (body: string, runs: number, model = 'iris') => {
    const times: number[] = [];
    let status = 0;
    for (let i = 0; i < runs + 2; i++) {
      const before = process.cpuUsage();
      status = (await handler(event(body, model))).statusCode;
      const used = process.cpuUsage(before);
      if (i >= 2) times.push((used.user + used.system) / 1000);
    }
    return { ms: median(times), status };
  };

  const peerCpu = await cpu(VALID_BODY, 200);
  const idle = await client({ role: 'valid', url, apiKey, count: 300 }).result;
  const idleLatency = idle.slice(20).map((t) => t.ms);
  const idleMedian = median(idleLatency);
  console.log(
    `# abuse: ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(2)}; peer (a valid 1-instance predict): ` +
      `handler CPU ${ms(peerCpu.ms)}, latency over HTTP median ${ms(idleMedian)}, p99 ${ms(quantile(idleLatency, 0.99))}`,
  );
  console.log(
    'shape | status | body | handler CPU | × peer | concurrent valid median (× idle) | worst | peak RSS +',
  );
  const rows: { name: string; cpuMs: number; ratio: number; ok: boolean }[] = [];
  for (const [name, shape] of Object.entries(SHAPES)) {
    // As the handler gets a body: one flat string decoded from the request's bytes (not a rope of pieces).
    const body = Buffer.from(await shape.body()).toString('utf8');
    const size = Buffer.byteLength(body);
    const handled = await cpu(body, CPU_RUNS, shape.model);
    // Concurrent: valid predicts run from before the hostile sends to after them.
    const baseRss = process.memoryUsage.rss();
    let peakRss = baseRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 2);
    const valid = client({ role: 'valid', url, apiKey });
    await valid.ready;
    const hostile = client({ role: 'hostile', url, apiKey, shape: name, times: HOSTILE_TIMES });
    const windows = await hostile.result;
    valid.stop();
    const latencies = await valid.result;
    clearInterval(sampler);
    const overlapping = latencies
      .filter((t) => windows.some((w) => t.start < w.start + w.ms && t.start + t.ms > w.start))
      .map((t) => t.ms);
    const concurrent = median(overlapping);
    const ratio = concurrent / idleMedian;
    const ok = ratio <= TARGET_RATIO;
    rows.push({ name, cpuMs: handled.ms, ratio, ok });
    console.log(
      `${name} | ${[...new Set(windows.map((w) => w.status))].join(',')} (handler ${handled.status}) | ` +
        `${(size / 2 ** 20).toFixed(1)} MB | ${ms(handled.ms)} | ${(handled.ms / peerCpu.ms).toFixed(0)}× | ` +
        `${ms(concurrent)} (${ratio.toFixed(2)}×, n=${overlapping.length}) ${ok ? 'PASS' : 'FAIL'} | ` +
        `${ms(Math.max(0, ...overlapping))} | ${((peakRss - baseRss) / 2 ** 20).toFixed(0)} MB`,
    );
    console.log(`  ${shape.what}`);
  }
  const hostileRows = rows.filter((r) => !['max-valid', 'image-many'].includes(r.name));
  const worst = hostileRows.reduce((a, b) => (b.cpuMs > a.cpuMs ? b : a));
  console.log(
    `# worst hostile shape by handler CPU: ${worst.name}, ${ms(worst.cpuMs)} (${(worst.cpuMs / peerCpu.ms).toFixed(0)}× the peer's ${ms(peerCpu.ms)})`,
  );
  const missed = rows.filter((r) => !r.ok);
  console.log(
    missed.length === 0
      ? `# every shape: a concurrent valid predict within ${TARGET_RATIO}× of its idle latency`
      : `# TARGET MISSED: a concurrent valid predict past ${TARGET_RATIO}× its idle latency for ${missed.map((r) => r.name).join(', ')}`,
  );
} finally {
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
