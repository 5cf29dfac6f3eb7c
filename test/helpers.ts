/** What the end-to-end tests share: real SDK clients pointed at a local platform, and bounded waits. */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { DatasetVersionRecord, RunRecord, TrialRecord } from '../core/api-types.ts';

import { API, ENV } from '../core/contract.ts';
import { FUNCTIONS, type FunctionDeclaration, type FunctionName } from '../core/declaration.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { NimbusFunction } from '../infra/function.ts';
import type { LocalEndpoints } from '../local/endpoints.ts';
import { childEnvironment } from '../local/lambda-runtime.ts';
import { type LocalPlatform, type LocalPlatformOptions, startLocalPlatform } from '../local/platform.ts';

/**
 * A local platform for one test file: started before its tests on free ports in a fresh data folder, with a
 * client; stopped and removed after them. `restart()` stops it and starts it again on the same folder and ports.
 */
export function localPlatformFixture(options: Omit<LocalPlatformOptions, 'dataDir' | 'ports'> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-test-'));
  const state = {} as { platform: LocalPlatform; client: PlatformClient };
  const start = async (ports: LocalPlatformOptions['ports'], apiKey?: string, adminKey?: string) => {
    state.platform = await startLocalPlatform({
      retryIntervalMs: 10,
      ...options,
      dataDir,
      ports,
      ...(apiKey ? { apiKey } : {}),
      ...(adminKey ? { adminKey } : {}),
    });
    state.client = new PlatformClient(state.platform.endpoints);
    // An alarm action or drift-monitor run that fails is retried quietly by the platform: say so here, or a
    // test waiting for what it should have done times out without a reason.
    state.platform.monitoring.on('monitorError', (error) => console.error('# monitoring error:', error));
  };
  const stop = async () => {
    state.client.destroy();
    await state.platform.stop();
  };
  before(() => start({ s3: 0, dynamodb: 0, api: 0, stepFunctions: 0 }));
  after(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    /** The platform's data folder (a fresh temporary folder). */
    dataDir,
    get platform() {
      return state.platform;
    },
    get client() {
      return state.client;
    },
    async restart() {
      const { endpoints } = state.platform;
      const port = (url: string) => Number(new URL(url).port);
      await stop();
      await start(
        {
          s3: port(endpoints.s3),
          dynamodb: port(endpoints.dynamodb),
          api: port(endpoints.api),
          stepFunctions: port(endpoints.stepFunctions),
          apiGateway: port(endpoints.apiGateway),
        },
        endpoints.apiKey,
        endpoints.adminKey,
      );
    },
  };
}

export class PlatformClient {
  readonly s3: S3Client;
  readonly db: DynamoDBDocumentClient;

  constructor(readonly endpoints: LocalEndpoints) {
    const credentials = { accessKeyId: endpoints.accessKeyId, secretAccessKey: endpoints.secretAccessKey };
    this.s3 = new S3Client({
      endpoint: endpoints.s3,
      region: endpoints.region,
      credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    this.db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: endpoints.dynamodb, region: endpoints.region, credentials }),
    );
  }

  upload(key: string, body: Uint8Array | string | Readable, contentLength?: number) {
    return this.s3.send(
      new PutObjectCommand({
        Bucket: this.endpoints.datasetsBucket,
        Key: key,
        Body: body,
        ...(contentLength === undefined ? {} : { ContentLength: contentLength }),
      }),
    );
  }

  async artifactJson<T>(key: string): Promise<T> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.endpoints.artifactsBucket, Key: key }),
    );
    return JSON.parse(await (out.Body?.transformToString() ?? Promise.resolve('null'))) as T;
  }

  async artifactText(key: string): Promise<string> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.endpoints.artifactsBucket, Key: key }),
    );
    return (await out.Body?.transformToString()) ?? '';
  }

  /** Polls the artifacts bucket until a JSON object exists (bounded). */
  async waitForArtifact<T>(key: string, timeoutMs = 300_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.artifactJson<T>(key);
      } catch (error) {
        if ((error as { name?: string }).name !== 'NoSuchKey' || Date.now() > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async datasetJson<T>(key: string): Promise<T> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.endpoints.datasetsBucket, Key: key }));
    return JSON.parse(await (out.Body?.transformToString() ?? Promise.resolve('null'))) as T;
  }

  /** The versions of a dataset, oldest first. */
  async datasetVersions(name: string): Promise<DatasetVersionRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.endpoints.tables.datasets,
        KeyConditionExpression: '#n = :n',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':n': name },
      }),
    );
    return ((out.Items ?? []) as DatasetVersionRecord[]).sort((a, b) =>
      a.createdAt.localeCompare(b.createdAt),
    );
  }

  async runs(dataset: string): Promise<RunRecord[]> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.endpoints.tables.runs,
        FilterExpression: 'dataset = :d',
        ExpressionAttributeValues: { ':d': dataset },
      }),
    );
    return (out.Items ?? []) as RunRecord[];
  }

  /** The trial records of a run's hyperparameter search. */
  async trials(runId: string): Promise<TrialRecord[]> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.endpoints.tables.runs,
        FilterExpression: 'parentRunId = :r',
        ExpressionAttributeValues: { ':r': runId },
      }),
    );
    return ((out.Items ?? []) as TrialRecord[]).sort((a, b) => a.trial - b.trial);
  }

  async modelItems(model: string): Promise<Record<string, unknown>[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.endpoints.tables.models,
        KeyConditionExpression: 'model = :m',
        ExpressionAttributeValues: { ':m': model },
      }),
    );
    return out.Items ?? [];
  }

  /** Polls the runs table until `count` runs of the dataset have finished (bounded). */
  async waitForRuns(dataset: string, count = 1, timeoutMs = 600_000): Promise<RunRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const runs = await this.runs(dataset);
      const done = runs.filter((run) => run.status !== 'RUNNING');
      if (done.length >= count) return done;
      if (Date.now() > deadline) {
        throw new Error(`runs of ${dataset} not finished after ${timeoutMs} ms: ${JSON.stringify(runs)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  predict(
    model: string,
    body: unknown,
    init: {
      apiKey?: string | null;
      raw?: boolean;
      contentType?: string;
      /** `/versions/<v>` or `/labels/<alias>` */
      target?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    const headers: Record<string, string> = {
      'content-type': init.contentType ?? 'application/json',
      ...init.headers,
    };
    const key = init.apiKey === undefined ? this.endpoints.apiKey : init.apiKey;
    if (key !== null) headers[API.apiKeyHeader] = key;
    const path = `/v1/models/${encodeURIComponent(model)}${init.target ?? ''}:predict`;
    return fetch(`${this.endpoints.api}${path}`, {
      method: 'POST',
      headers,
      body: init.raw ? String(body) : JSON.stringify(body),
    });
  }

  /** A POST of JSON to the API with the API key (TF Serving's Classify and Regress). */
  post(path: string, body: unknown) {
    return fetch(`${this.endpoints.api}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [API.apiKeyHeader]: this.endpoints.apiKey },
      body: JSON.stringify(body),
    });
  }

  /** A GET of the API (TF Serving's model status and metadata routes). */
  get(path: string) {
    return fetch(`${this.endpoints.api}${path}`, { headers: { [API.apiKeyHeader]: this.endpoints.apiKey } });
  }

  /**
   * The registry API under `/v1/registry`: a GET with the API key; with a body, a POST with the admin key
   * (`adminKey: null` sends none).
   */
  registry(path: string, body?: unknown, init: { adminKey?: string | null } = {}) {
    const url = `${this.endpoints.api}/v1/registry${path}`;
    if (body === undefined) return fetch(url, { headers: { [API.apiKeyHeader]: this.endpoints.apiKey } });
    const key = init.adminKey === undefined ? this.endpoints.adminKey : init.adminKey;
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === null ? {} : { [API.adminKeyHeader]: key }) },
      body: JSON.stringify(body),
    });
  }

  /** A registry GET's JSON, asserting a 200. */
  async registryJson<T>(path: string): Promise<T> {
    const response = await this.registry(path);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return JSON.parse(text) as T;
  }

  destroy(): void {
    this.s3.destroy();
    this.db.destroy();
  }
}

/**
 * Synthesizes one NimbusFunction with real bundling (esbuild and the bundling hooks, as `cdk synth` runs them)
 * and finds its asset folder. Built for this machine's CPU, so that the native modules it installs (sharp) load
 * here; remove `outdir` when done.
 */
export function bundleFunction(name: FunctionName) {
  const outdir = mkdtempSync(join(tmpdir(), 'nimbus-bundle-'));
  process.env.CDK_VALIDATION = 'false';
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Bundle');
  const architecture = process.arch === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64;
  const { dir, bundle }: FunctionDeclaration = FUNCTIONS[name];
  const fn = new NimbusFunction(stack, 'Fn', { dir, architecture, ...bundle });
  const template = app.synth().getStackByName('Bundle').template as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const logicalId = stack.resolve((fn.function.node.defaultChild as CfnResource).logicalId) as string;
  const asset = template.Resources[logicalId]?.Metadata?.['aws:asset:path'];
  assert.ok(asset, 'the function has a bundled asset');
  const bundleDir = join(outdir, asset);
  // Its layers (sharp, for a function that decodes images), as Lambda mounts them under /opt.
  const layers = Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::LayerVersion')
    .map((resource) => join(outdir, resource.Metadata?.['aws:asset:path'] ?? ''));
  return { outdir, dir: bundleDir, files: readdirSync(bundleDir), layers };
}

/**
 * Calls a bundled predict handler in a fresh Node process, as Lambda would (the AWS SDK from the runtime, here
 * the repository's), against the local platform. Asynchronous: the emulators it calls run in this process.
 */
export async function invokeBundle(
  bundleDir: string,
  event: unknown,
  endpoints: LocalEndpoints,
  /** Layer folders, whose `nodejs/node_modules` come first on NODE_PATH (Lambda's /opt/nodejs/node_modules). */
  layers: readonly string[] = [],
): Promise<{ statusCode: number; body: string; loaded: { tfjs: boolean; sharp: boolean } }> {
  // What the invocation loaded besides the bundle: tfjs (its engine, once its module runs) and sharp.
  const script = `require(${JSON.stringify(join(bundleDir, 'index.js'))}).handler(${JSON.stringify(event)})
    .then((r) => process.stdout.write('\\n' + JSON.stringify({ ...r, loaded: {
      tfjs: globalThis._tfengine !== undefined,
      sharp: Object.keys(require.cache).some((file) => file.includes('/sharp/')),
    } })))`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
    env: {
      // One invocation in its own process, as Lambda runs it (not the local platform's concurrent runtime).
      ...childEnvironment(),
      NODE_PATH: [
        ...layers.map((layer) => join(layer, 'nodejs', 'node_modules')),
        join(REPO_ROOT, 'node_modules'),
      ].join(delimiter),
      [ENV.tfBackend]: 'wasm',
      [ENV.artifactsBucket]: endpoints.artifactsBucket,
      [ENV.modelsTable]: endpoints.tables.models,
    },
  });
  // The handler's own output (its EMF metric lines, as in Lambda) comes first; the result is the last line.
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
    statusCode: number;
    body: string;
    loaded: { tfjs: boolean; sharp: boolean };
  };
}

/**
 * The iris example (examples/iris.csv) for traffic: its lines as uploaded, and each flower's four
 * measurements as a predict instance.
 */
export function irisExample(): { lines: string[]; rows: Record<string, number>[] } {
  const lines = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'), 'utf8')
    .trim()
    .split(/\r?\n/);
  const header = (lines[0] ?? '').split(',');
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.slice(0, 4).map((name, i) => [name, Number(cells[i])]));
  });
  return { lines, rows };
}
