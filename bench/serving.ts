/**
 * Serving on the local platform, against peers measured in the same run (every target is a ratio):
 * - throughput and latency of `POST /v1/models/iris:predict` (one instance per request, API key checked, the
 *   local API gateway and the predict handler in this process with the emulators) and of the Open Inference
 *   Protocol's `POST /v2/models/iris/infer`, against two peers under the same autocannon load (50 connections,
 *   after a 2 s warm-up, generated from a child process, bench/serving-load.ts, so that each server has its
 *   process's event loop to itself):
 *   - a bare `node:http` server that reads the body and answers a fixed JSON (bench/serving-peer.ts): the
 *     ceiling of any Node HTTP server here. Targets: platform/peer req/s ≥ 0.6, p99 ≤ 3× the peer's.
 *   - FastAPI + uvicorn serving the same MLP shape in PyTorch (bench/peers/fastapi_mlp.py): what a user would
 *     run instead for a small model. Target: platform/FastAPI req/s ≥ 2. Skipped, saying why, where its Python
 *     packages are missing (`bash bench/peers/fastapi-setup.sh` makes its venv).
 * - cold start: a fresh Node process that loads the predict handler — the esbuild bundle as deployed — and
 *   answers one REST proxy event against this platform, against a bare handler that imports only
 *   `@aws-sdk/client-dynamodb` and reads one item (the model's registry record) from the same DynamoDB.
 *   Spawn → answer, medians of 5. Target: ratio ≤ 2. (handler.ts through tsx is shown too.)
 * - the predict bundle's zipped size as bench/bundles.ts counts it (arm64). sharp is in a layer of its own,
 *   loaded only by image models (shown apart), as is onnxruntime-node, loaded only by imported models.
 *   Target ≤ 5 MB.
 * - an imported ONNX model: the same MLP shape exported by PyTorch (test/fixtures/onnx/iris-mlp.onnx), served
 *   through onnxruntime-node under the same load, and its cold start through the sources beside ours. No
 *   target: the figures say what an imported model costs against our plain-JS forward pass.
 * Exits 0 when targets are missed, non-zero when something fails to run.
 *
 *   npm run bench:serving -- [seconds]       (or BENCH_SECONDS; default 30)
 */

import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import { API, ENV } from '../core/contract.ts';
import { FUNCTIONS } from '../core/declaration.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { NimbusFunction } from '../infra/function.ts';
import { type LocalEndpoints, platformEnvironment } from '../local/endpoints.ts';
import { childEnvironment } from '../local/lambda-runtime.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { PlatformClient } from '../test/helpers.ts';
import { bundleSizes } from './bundle-size.ts';
import { findFastapiPython, startFastapiPeer } from './serving-fastapi.ts';
import type { LoadOptions, LoadResult } from './serving-load.ts';

const SECONDS = Number(process.argv[2] ?? process.env.BENCH_SECONDS ?? 30);
if (!(SECONDS > 0)) throw new Error(`the duration must be a positive number of seconds, not ${SECONDS}`);
const CONNECTIONS = 50;
const WARMUP_SECONDS = 2;
const COLD_RUNS = 5;
const TARGETS = { ratio: 0.6, p99Ratio: 3, fastapiRatio: 2, coldRatio: 2, bundleMb: 5 } as const;

const MODEL = 'iris';
const ONNX_MODEL = 'iris-onnx';
const instance = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };
const body = JSON.stringify({ instances: [instance] });
const inferBody = JSON.stringify({
  inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: Object.values(instance) }],
});
const bench = join(REPO_ROOT, 'bench');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
/** autocannon's latency histogram counts whole milliseconds. */
const wholeMs = (value: number) => `${value.toFixed(0)} ms`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** The predict bundle as `cdk synth` builds it (bench/bundles.ts's way), for Lambda's arm64, and its layer's folder. */
function buildPredictBundle(outdir: string): { bundle: string; layer?: string; onnxLayer?: string } {
  process.env.CDK_VALIDATION = 'false';
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Serving');
  const fn = new NimbusFunction(stack, 'predict', { dir: 'predict', ...FUNCTIONS.predict.bundle });
  const template = app.synth().getStackByName('Serving').template as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const logicalId = stack.resolve((fn.function.node.defaultChild as CfnResource).logicalId) as string;
  const asset = template.Resources[logicalId]?.Metadata?.['aws:asset:path'];
  if (!asset) throw new Error('the predict function has no bundled asset');
  const layerPath = (kind: string) =>
    Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::LayerVersion' &&
        String((r as { Properties?: { Description?: string } }).Properties?.Description).startsWith(kind),
    )?.Metadata?.['aws:asset:path'];
  const layer = layerPath('sharp');
  const onnxLayer = layerPath('onnxruntime-node');
  return {
    bundle: join(outdir, asset),
    ...(layer ? { layer: join(outdir, layer) } : {}),
    ...(onnxLayer ? { onnxLayer: join(outdir, onnxLayer) } : {}),
  };
}

/** Runs bench/serving-load.ts (autocannon) against `url` and checks that every answer was a 2xx. */
async function load(
  name: string,
  url: string,
  headers: Record<string, string>,
  requestBody = body,
): Promise<LoadResult> {
  const options: LoadOptions = {
    url,
    headers,
    body: requestBody,
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
  };
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(bench, 'serving-load.ts'), JSON.stringify(options)],
    { encoding: 'utf8', timeout: (SECONDS + WARMUP_SECONDS + 60) * 1000, maxBuffer: 1024 * 1024 },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as LoadResult;
  if (result.non2xx > 0 || result.errors > 0 || result.ok === 0) {
    const sample = await fetch(url, { method: 'POST', headers, body: requestBody }).then(
      async (response) => `${response.status} ${(await response.text()).slice(0, 300)}`,
      (error: unknown) => String(error),
    );
    throw new Error(
      `${name}: ${result.ok} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors ` +
        `(${result.timeouts} timeouts) under load; one request now answers: ${sample}`,
    );
  }
  return result;
}

/** Starts bench/serving-peer.ts; resolves with its URL and a stop function. */
async function startPeer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(bench, 'serving-peer.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the peer exited (${code}) before listening`)));
  });
  return {
    url,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface ColdStart {
  /** Parent's clock: spawn → the answer's line on stdout. */
  readonly spawnToAnswer: number;
  /** Child's clock (`performance.now()`, from its process start): to the script's first line, to the module loaded, to the answer. */
  readonly booted: number;
  readonly loaded: number;
  readonly answered: number;
}

/**
 * One fresh Node process that loads the handler (`load`: a JS expression) and answers one predict event,
 * pointed at the platform as a deployed function is (NIMBUS_TF_BACKEND=wasm; no data capture, so that
 * nothing but the answer is timed).
 */
async function coldStart(
  args: string[],
  load: string,
  endpoints: LocalEndpoints,
  model = MODEL,
): Promise<ColdStart> {
  const event = {
    resource: '/v1/models/{proxy+}',
    path: API.predictPath(model),
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
    requestContext: { requestId: 'cold-start' },
  };
  const script = `const booted = performance.now();
    (async () => {
      const fn = await ${load};
      const loaded = performance.now();
      const result = await fn.handler(${JSON.stringify(event)});
      const answered = performance.now();
      process.stdout.write(JSON.stringify({ statusCode: result.statusCode, body: result.body, booted, loaded, answered }) + '\\n');
      process.exit(0);
    })().catch((error) => { console.error(error); process.exit(1); });`;
  // An extra CA bundle in the environment (read at every Node start; 100 ms on some machines) is none of
  // Lambda's, and the handler speaks plain HTTP to the emulators.
  // One invocation per process, as Lambda runs this bundle: not the local platform's concurrent runtime.
  const { NODE_EXTRA_CA_CERTS: _caBundle, ...inherited } = childEnvironment();
  const started = performance.now();
  const child = spawn(process.execPath, [...args, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...inherited,
      ...platformEnvironment(endpoints),
      NODE_PATH: join(REPO_ROOT, 'node_modules'),
      [ENV.tfBackend]: 'wasm',
      [ENV.captureRate]: '0',
    },
  });
  let out = '';
  let err = '';
  let answeredAt = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    // The handler's EMF metric lines come first (as in Lambda); the answer is the line that follows them.
    if (!answeredAt && out.includes('{"statusCode"')) answeredAt = performance.now();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill(), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0 || !answeredAt) throw new Error(`cold start failed (exit ${code}): ${err.slice(-1000)}`);
  const line = out.split('\n').find((l) => l.startsWith('{"statusCode"')) ?? '';
  const answer = JSON.parse(line) as Omit<ColdStart, 'spawnToAnswer'> & { statusCode: number; body: string };
  if (answer.statusCode !== 200) throw new Error(`cold start answered ${answer.statusCode}: ${answer.body}`);
  return {
    spawnToAnswer: answeredAt - started,
    booted: answer.booted,
    loaded: answer.loaded,
    answered: answer.answered,
  };
}

/** The cold start's peer: a handler that imports only the DynamoDB client and reads one item. */
const BARE_HANDLER = `const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const client = new DynamoDBClient({});
exports.handler = async () => {
  const out = await client.send(new GetItemCommand({
    TableName: process.env.${ENV.modelsTable},
    Key: { model: { S: '${MODEL}' }, sk: { S: 'META' } },
  }));
  return { statusCode: out.Item ? 200 : 404, body: JSON.stringify(out.Item ?? {}) };
};
`;

const outdir = mkdtempSync(join(tmpdir(), 'nimbus-bench-serving-cdk-'));
const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-serving-'));
let stopPlatform: (() => Promise<void>) | undefined;
let stopPeer: (() => Promise<void>) | undefined;
try {
  // The bundle first: synth blocks the event loop (esbuild, npm install of sharp), the platform is not up yet.
  const { bundle: bundleDir, layer, onnxLayer } = buildPredictBundle(outdir);
  const sizes = bundleSizes(bundleDir);
  const layerSizes = layer ? bundleSizes(layer) : undefined;
  const onnxLayerSizes = onnxLayer ? bundleSizes(onnxLayer) : undefined;
  const bareDir = join(outdir, 'bare');
  mkdirSync(bareDir);
  writeFileSync(join(bareDir, 'index.js'), BARE_HANDLER);

  const platform = await startLocalPlatform({
    dataDir,
    ports: { s3: 0, dynamodb: 0, api: 0, stepFunctions: 0 },
  });
  const client = new PlatformClient(platform.endpoints);
  stopPlatform = async () => {
    client.destroy();
    await platform.stop();
  };
  const { endpoints } = platform;
  const headers = { 'content-type': 'application/json', [API.apiKeyHeader]: endpoints.apiKey };
  const predictUrl = `${endpoints.api}${API.predictPath(MODEL)}`;

  await client.upload(`datasets/${MODEL}/iris.csv`, readFileSync(join(REPO_ROOT, 'examples', 'iris.csv')));
  const [run] = await client.waitForRuns(MODEL, 1, 180_000);
  if (run?.status !== 'SUCCEEDED') throw new Error(`the iris run did not succeed: ${run?.reason}`);
  for (const deadline = Date.now() + 30_000; ; ) {
    const response = await fetch(predictUrl, { method: 'POST', headers, body });
    const text = await response.text();
    if (response.status === 200) break;
    if (Date.now() > deadline) throw new Error(`iris not served after its run: ${response.status} ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // The same MLP shape, trained and exported by PyTorch, imported (README, "Bring your own model").
  const onnxFixtures = join(REPO_ROOT, 'test', 'fixtures', 'onnx');
  await client.upload(
    `models/${ONNX_MODEL}/model.json`,
    JSON.stringify({
      labels: ['setosa', 'versicolor', 'virginica'],
      label: 'species',
      inputs: { features: Object.keys(instance) },
      evaluation: { key: `models/${ONNX_MODEL}/eval.csv` },
    }),
  );
  await client.upload(`models/${ONNX_MODEL}/eval.csv`, readFileSync(join(REPO_ROOT, 'examples', 'iris.csv')));
  await client.upload(
    `models/${ONNX_MODEL}/iris-mlp.onnx`,
    readFileSync(join(onnxFixtures, 'iris-mlp.onnx')),
  );
  const [imported] = await client.waitForRuns(ONNX_MODEL, 1, 180_000);
  if (imported?.status !== 'SUCCEEDED') throw new Error(`the import did not succeed: ${imported?.reason}`);
  const onnxUrl = `${endpoints.api}${API.predictPath(ONNX_MODEL)}`;
  const firstOnnx = performance.now();
  const onnxAnswer = await fetch(onnxUrl, { method: 'POST', headers, body });
  if (onnxAnswer.status !== 200)
    throw new Error(`the ONNX model answers ${onnxAnswer.status} ${await onnxAnswer.text()}`);
  const onnxFirstMs = performance.now() - firstOnnx;

  // Cold starts while the machine is otherwise quiet, the peer's and ours alternating.
  const variants = [
    {
      name: 'predict bundle (esbuild, as deployed)',
      args: [],
      load: `require(${JSON.stringify(join(bundleDir, 'index.js'))})`,
    },
    {
      name: 'peer: DynamoDB client, one GetItem',
      args: [],
      load: `require(${JSON.stringify(join(bareDir, 'index.js'))})`,
    },
    {
      name: 'predict handler.ts via tsx',
      args: ['--import', 'tsx'],
      load: `import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'functions', 'predict', 'handler.ts')).href)})`,
    },
  ];
  variants.push({
    name: 'predict handler.ts via tsx, ONNX version',
    args: ['--import', 'tsx'],
    load: variants[2]?.load as string,
    model: ONNX_MODEL,
  } as (typeof variants)[number]);
  const runs = new Map<string, ColdStart[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const variant of variants)
      runs
        .get(variant.name)
        ?.push(await coldStart(variant.args, variant.load, endpoints, (variant as { model?: string }).model));
  }
  const cold = variants.map(({ name }) => {
    const of = runs.get(name) ?? [];
    return {
      name,
      spawnToAnswer: median(of.map((r) => r.spawnToAnswer)),
      answered: median(of.map((r) => r.answered)),
      booted: median(of.map((r) => r.booted)),
      load: median(of.map((r) => r.loaded - r.booted)),
      firstCall: median(of.map((r) => r.answered - r.loaded)),
    };
  });

  const load1 = loadavg()[0] ?? 0;
  const ours = await load('platform', predictUrl, headers);
  const oursV2 = await load('platform v2', `${endpoints.api}${API.inferPath(MODEL)}`, headers, inferBody);
  const onnx = await load('platform, ONNX', onnxUrl, headers);
  const peer = await startPeer();
  stopPeer = peer.stop;
  const theirs = await load('peer', peer.url, headers);
  await peer.stop();
  stopPeer = undefined;
  const python = findFastapiPython();
  let fastapi: LoadResult | undefined;
  if ('python' in python) {
    const server = await startFastapiPeer(python.python);
    stopPeer = server.stop;
    fastapi = await load('FastAPI', `${server.url}${API.predictPath(MODEL)}`, headers);
    await server.stop();
    stopPeer = undefined;
  }

  const ratio = ours.requestsPerSecond / theirs.requestsPerSecond;
  // autocannon counts whole milliseconds: a p99 under 1 ms reads 0, taken as 1.
  const p99Ratio = ours.p99 / Math.max(theirs.p99, 1);
  const fastapiRatio = fastapi ? ours.requestsPerSecond / fastapi.requestsPerSecond : Number.NaN;
  const coldRatio = (cold[0]?.spawnToAnswer ?? Number.NaN) / (cold[1]?.spawnToAnswer ?? Number.NaN);
  console.log(
    `Serving iris (MLP, 4 features, 3 classes), one instance per request: autocannon, ${CONNECTIONS} connections, ` +
      `${SECONDS} s after a ${WARMUP_SECONDS} s warm-up, from its own process; a dense model runs as a plain-JS forward pass (no tfjs); latency in whole ms`,
  );
  console.log(
    `  this machine: ${availableParallelism()} CPUs, load average ${load1.toFixed(2)} before the runs`,
  );
  console.log(
    `  ${'server'.padEnd(48)} ${'req/s'.padStart(8)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'2xx'.padStart(9)}`,
  );
  const rows: [string, LoadResult | undefined][] = [
    [`platform: POST ${API.predictPath(MODEL)}`, ours],
    [`platform: POST ${API.inferPath(MODEL)} (v2)`, oursV2],
    ['platform: the PyTorch MLP as ONNX (onnxruntime)', onnx],
    ['peer: bare node:http, fixed JSON (own process)', theirs],
    ['peer: FastAPI + uvicorn, PyTorch MLP (own process)', fastapi],
  ];
  for (const [name, r] of rows) {
    if (!r) {
      console.log(`  ${name.padEnd(48)} skipped: ${'skip' in python ? python.skip : ''}`);
      continue;
    }
    console.log(
      `  ${name.padEnd(48)} ${r.requestsPerSecond.toFixed(0).padStart(8)} ${wholeMs(r.p50).padStart(9)} ` +
        `${wholeMs(r.p99).padStart(9)} ${String(r.ok).padStart(9)}`,
    );
  }
  console.log(
    `  ratios: platform/peer req/s ${ratio.toFixed(2)}, p99 ${p99Ratio.toFixed(1)}×; platform/FastAPI req/s ${
      fastapi ? fastapiRatio.toFixed(2) : 'n/a'
    }; v2/v1 req/s ${(oursV2.requestsPerSecond / ours.requestsPerSecond).toFixed(2)}; ONNX/ours req/s ${(
      onnx.requestsPerSecond / ours.requestsPerSecond
    ).toFixed(2)}`,
  );
  console.log(
    `  the ONNX version's first request in the running platform (session load + answer): ${ms(onnxFirstMs)}`,
  );
  console.log(
    `Cold start: fresh process → first answer (medians of ${COLD_RUNS}, alternating; model from local S3)`,
  );
  console.log(
    `  ${'handler'.padEnd(40)} ${'spawn→answer'.padStart(13)} ${'start→answer'.padStart(13)} ` +
      `${'node boot'.padStart(10)} ${'import'.padStart(9)} ${'1st call'.padStart(9)}`,
  );
  for (const c of cold) {
    console.log(
      `  ${c.name.padEnd(40)} ${ms(c.spawnToAnswer).padStart(13)} ${ms(c.answered).padStart(13)} ` +
        `${ms(c.booted).padStart(10)} ${ms(c.load).padStart(9)} ${ms(c.firstCall).padStart(9)}`,
    );
  }
  console.log(`  ratio bundle/peer spawn→answer ${coldRatio.toFixed(2)}`);
  console.log(
    `Predict bundle (arm64): ${mb(sizes.zipped)} zipped, ${mb(sizes.code)} zipped code only ` +
      `(no source maps), ${mb(sizes.unzipped)} unzipped` +
      (layerSizes ? `; its sharp layer (image models only): ${mb(layerSizes.zipped)} zipped` : '') +
      (onnxLayerSizes
        ? `; its onnxruntime layer (imported models only): ${mb(onnxLayerSizes.zipped)} zipped`
        : ''),
  );
  console.log('Targets');
  const targets: [string, string, boolean][] = [
    [`throughput platform/peer ≥ ${TARGETS.ratio}`, ratio.toFixed(2), ratio >= TARGETS.ratio],
    [`p99 platform/peer ≤ ${TARGETS.p99Ratio}`, p99Ratio.toFixed(1), p99Ratio <= TARGETS.p99Ratio],
    [
      `throughput platform/FastAPI ≥ ${TARGETS.fastapiRatio}`,
      fastapi ? fastapiRatio.toFixed(2) : 'skipped',
      fastapi !== undefined && fastapiRatio >= TARGETS.fastapiRatio,
    ],
    [`cold start bundle/peer ≤ ${TARGETS.coldRatio}`, coldRatio.toFixed(2), coldRatio <= TARGETS.coldRatio],
    [
      `predict bundle zipped ≤ ${TARGETS.bundleMb} MB`,
      mb(sizes.zipped),
      sizes.zipped <= TARGETS.bundleMb * 1024 * 1024,
    ],
  ];
  for (const [name, value, ok] of targets) {
    console.log(`  ${name.padEnd(44)} ${value.padStart(10)}  ${verdict(ok)}`);
  }
} catch (error) {
  console.error('bench:serving failed:', error);
  process.exitCode = 1;
} finally {
  await stopPeer?.();
  await stopPlatform?.();
  rmSync(outdir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
