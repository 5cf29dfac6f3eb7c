/**
 * The local S3 (s3rver behind local/s3-keys.ts) for the tests of its keys: the emulators on a data folder with a
 * sibling that nothing may touch, an SDK client, and raw HTTP.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { type Emulators, type S3NotificationRecord, startEmulators } from '../../local/emulators.ts';

export const DATASETS = 'nimbus-datasets';
export const ARTIFACTS = 'nimbus-artifacts';
export const credentials = { accessKeyId: 'NIMBUSKEYTEST', secretAccessKey: 'nimbus-key-test-secret' };
export const region = 'us-east-1';

/** The temp folder holds the data folder and a sibling that nothing may touch. */
export const root = mkdtempSync(join(tmpdir(), 'nimbus-s3keys-'));
export const dataDir = join(root, 'data');
export const s3Dir = join(dataDir, 's3');
export const sibling = join(root, 'sibling');
export let emulators: Emulators;
export let s3: S3Client;

export const client = (endpoint: string) =>
  new S3Client({
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });

/** Starts the emulators before the file's tests, on a fresh data folder, and removes both after them. */
export function localS3Fixture(): void {
  before(async () => {
    mkdirSync(sibling);
    writeFileSync(join(sibling, 'untouched.txt'), 'untouched');
    emulators = await startEmulators({
      dataDir,
      s3Port: 0,
      dynamodbPort: 0,
      region,
      ...credentials,
      buckets: [DATASETS, ARTIFACTS],
      tables: { datasets: 'keytest-datasets', runs: 'keytest-runs', models: 'keytest-models' },
    });
    s3 = client(emulators.s3Endpoint);
  });

  after(async () => {
    s3.destroy();
    await emulators.stop();
    rmSync(root, { recursive: true, force: true });
  });
}

/** Every file under `dir`, as paths relative to it. */
export function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, base) : [path.slice(base.length + 1)];
  });
}

/** Nothing outside the data folder, nothing in it outside a bucket's folder, the sibling as it was. */
export function assertNothingEscaped(): void {
  assert.deepEqual(readdirSync(root).sort(), ['data', 'sibling']);
  assert.deepEqual(readdirSync(dataDir).sort(), ['dynamodb', 's3']);
  assert.deepEqual(readdirSync(s3Dir).sort(), [ARTIFACTS, DATASETS]);
  assert.deepEqual(files(sibling), ['untouched.txt']);
  assert.equal(readFileSync(join(sibling, 'untouched.txt'), 'utf8'), 'untouched');
}

/** S3's order: bytes of UTF-8. */
export const sortKeys = (keys: readonly string[]) =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

export async function put(key: string, body = `body of ${key}`, bucket = DATASETS): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function get(key: string, bucket = DATASETS): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString()) ?? '';
}

export async function list(prefix: string, bucket = DATASETS): Promise<string[]> {
  const response = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (response.Contents ?? []).map((object) => object.Key ?? '');
}

/** An SDK error with S3's code and status. */
export const s3Error = (code: string, status: number) => (error: S3ServiceException) => {
  assert.equal(error.name, code);
  assert.equal(error.$metadata.httpStatusCode, status);
  return true;
};

/** The next object event that `matches`, as the platform turns it into an EventBridge event. */
export function nextEvent(matches: (record: S3NotificationRecord) => boolean): Promise<S3NotificationRecord> {
  return new Promise((resolve) => {
    const unsubscribe = emulators.onObjectEvent((record) => {
      if (!matches(record)) return;
      unsubscribe();
      resolve(record);
    });
  });
}

/** A request exactly as written (no client normalizes its path), unsigned: s3rver serves anonymous requests. */
export function raw(method: string, path: string, body = ''): Promise<{ status: number; body: string }> {
  const { port } = new URL(emulators.s3Endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
