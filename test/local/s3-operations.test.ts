/**
 * The local S3 (s3rver behind local/s3-keys.ts) driven by the real SDK, awscli and raw HTTP: copies, multipart
 * uploads and object events at odd keys, bucket names that are paths, objects an earlier s3rver stored — and no
 * key leaves its bucket's folder. Storing, listing and deleting keys: s3-keys.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { startEmulators } from '../../local/emulators.ts';
import { toEventBridgeEvent } from '../../local/event-bridge.ts';
import {
  ARTIFACTS,
  assertNothingEscaped,
  client,
  credentials,
  DATASETS,
  emulators,
  get,
  localS3Fixture,
  nextEvent,
  put,
  raw,
  region,
  s3,
  s3Error,
  sortKeys,
} from './s3-fixture.ts';

localS3Fixture();

describe('local S3 keys', () => {
  it('copies between odd keys, and across buckets into the target bucket only', async () => {
    const source = 'copy/../src +1%.csv';
    await put(source, 'copied bytes');
    const copySource = `${DATASETS}/${encodeURIComponent(source)}`;

    await s3.send(
      new CopyObjectCommand({ Bucket: DATASETS, Key: 'copy/./dst/../x.csv', CopySource: copySource }),
    );
    assert.equal(await get('copy/./dst/../x.csv'), 'copied bytes');

    await s3.send(
      new CopyObjectCommand({
        Bucket: ARTIFACTS,
        Key: '../nimbus-datasets/stolen.csv',
        CopySource: copySource,
      }),
    );
    assert.equal(await get('../nimbus-datasets/stolen.csv', ARTIFACTS), 'copied bytes');
    await assert.rejects(get('stolen.csv'), s3Error('NoSuchKey', 404));
    assertNothingEscaped();
  });

  it('completes a multipart upload at an odd key, and refuses upload ids and parts it did not make', async () => {
    const key = 'multi/../../part//ed.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: DATASETS, Key: key }));
    assert.ok(UploadId);
    const parts = [];
    for (const [i, body] of ['first part, ', 'second part'].entries()) {
      const part = await s3.send(
        new UploadPartCommand({ Bucket: DATASETS, Key: key, UploadId, PartNumber: i + 1, Body: body }),
      );
      parts.push({ PartNumber: i + 1, ETag: part.ETag });
    }

    // s3rver joined the upload id and part number into paths, and completed an upload at any key.
    const upload = (uploadId: string, uploadKey = key) =>
      s3.send(
        new UploadPartCommand({
          Bucket: DATASETS,
          Key: uploadKey,
          UploadId: uploadId,
          PartNumber: 1,
          Body: 'x',
        }),
      );
    await assert.rejects(upload('../../../../../../escaped'), s3Error('NoSuchUpload', 404));
    await assert.rejects(upload(UploadId, 'multi/another-key'), s3Error('NoSuchUpload', 404));
    // A part never uploaded made s3rver's read stream fail with no listener, which ended the process.
    await assert.rejects(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: DATASETS,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [...parts, { PartNumber: 3, ETag: '"0"' }] },
        }),
      ),
      s3Error('InvalidPart', 400),
    );

    const completed = nextEvent((record) => record.eventName === 'ObjectCreated:Post');
    const result = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: DATASETS,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    assert.equal(result.Key, key);
    assert.equal(await get(key), 'first part, second part');
    assert.equal(toEventBridgeEvent(await completed, '000000000000', region)?.detail.object.key, key);
    assertNothingEscaped();
  });

  it('emits object events that carry the key the client used', async () => {
    const key = 'events/../../../a b+c%2e&d.csv';
    const created = nextEvent((record) => record.eventName === 'ObjectCreated:Put');
    await put(key);
    const event = toEventBridgeEvent(await created, '000000000000', region);
    assert.equal(event?.detail.object.key, key);
    assert.equal(event?.detail.bucket.name, DATASETS);

    const copied = nextEvent((record) => record.eventName === 'ObjectCreated:Copy');
    const target = 'events//copied/./%41.csv';
    await s3.send(
      new CopyObjectCommand({
        Bucket: DATASETS,
        Key: target,
        CopySource: `${DATASETS}/${encodeURIComponent(key)}`,
      }),
    );
    assert.equal(toEventBridgeEvent(await copied, '000000000000', region)?.detail.object.key, target);
  });

  it('refuses bucket names that are paths, and keys that are not UTF-8, with S3 errors', async () => {
    for (const path of ['/%2E%2E/evil.txt', '/../evil.txt', '/./evil.txt', '/%2E/nimbus-datasets/evil.txt']) {
      const response = await raw('PUT', path, 'evil');
      assert.equal(response.status, 400, path);
      assert.match(response.body, /<Code>InvalidBucketName<\/Code>/);
    }
    // Listing or deleting "the bucket" `..` would have walked, or removed, the data folder's parent.
    for (const method of ['GET', 'DELETE']) {
      const response = await raw(method, '/%2E%2E');
      assert.equal(response.status, 400);
      assert.match(response.body, /<Code>InvalidBucketName<\/Code>/);
    }
    for (const path of ['/nimbus-datasets/bad%ZZ', '/nimbus-datasets/latin1-%E9.csv']) {
      const response = await raw('PUT', path, 'x');
      assert.equal(response.status, 400, path);
      assert.match(response.body, /<Code>InvalidURI<\/Code>/);
    }
    // Dots a client sent percent-encoded are the same key as dots sent plain.
    const wire = await raw('PUT', '/nimbus-datasets/wire/%2E%2E/%2E%2E/%2E%2E/%2E%2E/x.csv', 'over the wire');
    assert.equal(wire.status, 200);
    assert.equal(await get('wire/../../../../x.csv'), 'over the wire');
    assertNothingEscaped();
  });

  it('still reads objects an earlier s3rver stored under ordinary keys', async () => {
    const legacyDir = mkdtempSync(join(tmpdir(), 'nimbus-s3keys-legacy-'));
    try {
      const S3rver = createRequire(import.meta.url)('s3rver') as new (
        options: Record<string, unknown>,
      ) => { run(): Promise<AddressInfo>; close(): Promise<void> };
      const legacy = new S3rver({
        address: '127.0.0.1',
        port: 0,
        directory: join(legacyDir, 's3'),
        silent: true,
        configureBuckets: [{ name: DATASETS }],
      });
      const address = await legacy.run();
      const legacyClient = client(`http://127.0.0.1:${address.port}`);
      const keys = ['legacy/iris/iris.csv', 'legacy/folder/', 'legacy/données 1+1.csv'];
      for (const key of keys) {
        await legacyClient.send(new PutObjectCommand({ Bucket: DATASETS, Key: key, Body: `old ${key}` }));
      }
      legacyClient.destroy();
      await legacy.close();

      const upgraded = await startEmulators({
        dataDir: legacyDir,
        s3Port: 0,
        dynamodbPort: 0,
        region,
        ...credentials,
        buckets: [DATASETS],
        tables: { datasets: 'keytest-datasets', runs: 'keytest-runs', models: 'keytest-models' },
      });
      const upgradedClient = client(upgraded.s3Endpoint);
      try {
        for (const key of keys) {
          const response = await upgradedClient.send(new GetObjectCommand({ Bucket: DATASETS, Key: key }));
          assert.equal(await response.Body?.transformToString(), `old ${key}`);
        }
        const listed = await upgradedClient.send(
          new ListObjectsV2Command({ Bucket: DATASETS, Prefix: 'legacy/' }),
        );
        assert.deepEqual(
          (listed.Contents ?? []).map((object) => object.Key),
          sortKeys(keys),
        );
      } finally {
        upgradedClient.destroy();
        await upgraded.stop();
      }
    } finally {
      rmSync(legacyDir, { recursive: true, force: true });
    }
  });

  const awscli = '/usr/bin/aws';
  it('keeps a traversal key inside its bucket when awscli writes it', {
    skip: !existsSync(awscli) && `${awscli} is not installed`,
  }, async () => {
    const key = 'cli/../../../../from cli.csv';
    const bodyDir = mkdtempSync(join(tmpdir(), 'nimbus-s3keys-cli-'));
    const body = join(bodyDir, 'body.csv');
    writeFileSync(body, 'from awscli');
    const aws = (...args: string[]) =>
      promisify(execFile)(awscli, [...args, '--endpoint-url', emulators.s3Endpoint, '--output', 'json'], {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_DEFAULT_REGION: region,
        },
      });
    try {
      await aws('s3api', 'put-object', '--bucket', DATASETS, '--key', key, '--body', body);
    } finally {
      rmSync(bodyDir, { recursive: true, force: true });
    }
    assertNothingEscaped();
    assert.equal(await get(key), 'from awscli');
    // awscli asks for URL-encoded keys and decodes them.
    const listed = JSON.parse(
      (await aws('s3api', 'list-objects-v2', '--bucket', DATASETS, '--prefix', 'cli/')).stdout,
    );
    assert.deepEqual(
      listed.Contents.map((object: { Key: string }) => object.Key),
      [key],
    );
  });
});
