/** What the end-to-end tests share: real SDK clients pointed at a local platform, and bounded waits. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { RunRecord, TrialRecord } from '../aws/registry.ts';
import { API } from '../core/contract.ts';
import {
  type LocalEndpoints,
  type LocalPlatform,
  type LocalPlatformOptions,
  startLocalPlatform,
} from '../local/platform.ts';

/**
 * A local platform for one test file: started before its tests on free ports in a fresh data folder, with a
 * client; stopped and removed after them. `restart()` stops it and starts it again on the same folder and ports.
 */
export function localPlatformFixture(options: Omit<LocalPlatformOptions, 'dataDir' | 'ports'> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-test-'));
  const state = {} as { platform: LocalPlatform; client: PlatformClient };
  const start = async (ports: LocalPlatformOptions['ports'], apiKey?: string) => {
    state.platform = await startLocalPlatform({
      retryIntervalMs: 10,
      ...options,
      dataDir,
      ports,
      ...(apiKey ? { apiKey } : {}),
    });
    state.client = new PlatformClient(state.platform.endpoints);
  };
  const stop = async () => {
    state.client.destroy();
    await state.platform.stop();
  };
  before(() => start({ s3: 0, dynamodb: 0, api: 0 }));
  after(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
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
        { s3: port(endpoints.s3), dynamodb: port(endpoints.dynamodb), api: port(endpoints.api) },
        endpoints.apiKey,
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
  async waitForRuns(dataset: string, count = 1, timeoutMs = 120_000): Promise<RunRecord[]> {
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

  predict(model: string, body: unknown, init: { apiKey?: string | null; raw?: boolean } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const key = init.apiKey === undefined ? this.endpoints.apiKey : init.apiKey;
    if (key !== null) headers[API.apiKeyHeader] = key;
    return fetch(`${this.endpoints.api}${API.predictPath(model)}`, {
      method: 'POST',
      headers,
      body: init.raw ? String(body) : JSON.stringify(body),
    });
  }

  destroy(): void {
    this.s3.destroy();
    this.db.destroy();
  }
}
