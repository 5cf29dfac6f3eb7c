/**
 * The local S3 (s3rver behind local/s3-keys.ts) driven by the real SDK, awscli and raw HTTP: keys are opaque
 * strings of up to 1024 bytes, as in S3, and none leaves its bucket's folder.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type ListObjectsCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type Emulators, type S3NotificationRecord, startEmulators } from '../local/emulators.ts';
import { toEventBridgeEvent } from '../local/event-bridge.ts';

const DATASETS = 'nimbus-datasets';
const ARTIFACTS = 'nimbus-artifacts';
const credentials = { accessKeyId: 'NIMBUSKEYTEST', secretAccessKey: 'nimbus-key-test-secret' };
const region = 'us-east-1';

/** The temp folder holds the data folder and a sibling that nothing may touch. */
const root = mkdtempSync(join(tmpdir(), 'nimbus-s3keys-'));
const dataDir = join(root, 'data');
const s3Dir = join(dataDir, 's3');
const sibling = join(root, 'sibling');
let emulators: Emulators;
let s3: S3Client;

const client = (endpoint: string) =>
  new S3Client({
    endpoint,
    region,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });

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

/** Every file under `dir`, as paths relative to it. */
function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, base) : [path.slice(base.length + 1)];
  });
}

/** Nothing outside the data folder, nothing in it outside a bucket's folder, the sibling as it was. */
function assertNothingEscaped(): void {
  assert.deepEqual(readdirSync(root).sort(), ['data', 'sibling']);
  assert.deepEqual(readdirSync(dataDir).sort(), ['dynamodb', 's3']);
  assert.deepEqual(readdirSync(s3Dir).sort(), [ARTIFACTS, DATASETS]);
  assert.deepEqual(files(sibling), ['untouched.txt']);
  assert.equal(readFileSync(join(sibling, 'untouched.txt'), 'utf8'), 'untouched');
}

/** S3's order: bytes of UTF-8. */
const sortKeys = (keys: readonly string[]) =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function put(key: string, body = `body of ${key}`, bucket = DATASETS): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function get(key: string, bucket = DATASETS): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString()) ?? '';
}

async function list(prefix: string, bucket = DATASETS): Promise<string[]> {
  const response = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (response.Contents ?? []).map((object) => object.Key ?? '');
}

/** An SDK error with S3's code and status. */
const s3Error = (code: string, status: number) => (error: S3ServiceException) => {
  assert.equal(error.name, code);
  assert.equal(error.$metadata.httpStatusCode, status);
  return true;
};

/** The next object event that `matches`, as the platform turns it into an EventBridge event. */
function nextEvent(matches: (record: S3NotificationRecord) => boolean): Promise<S3NotificationRecord> {
  return new Promise((resolve) => {
    const unsubscribe = emulators.onObjectEvent((record) => {
      if (!matches(record)) return;
      unsubscribe();
      resolve(record);
    });
  });
}

/** A request exactly as written (no client normalizes its path), unsigned: s3rver serves anonymous requests. */
function raw(method: string, path: string, body = ''): Promise<{ status: number; body: string }> {
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

describe('local S3 keys', () => {
  it('keeps keys that climb with .. inside their bucket, and out of the other bucket', async () => {
    const keys = [
      // Without the guard, s3rver wrote this one into the temp folder, beside the data folder…
      'datasets/../../../../escaped.csv',
      // …and this one into the artifacts bucket.
      'datasets/../../nimbus-artifacts/planted.csv',
      '../outside.csv',
    ];
    for (const key of keys) await put(key);

    assertNothingEscaped();
    for (const key of keys) assert.equal(await get(key), `body of ${key}`);
    assert.deepEqual(await list('datasets/../'), sortKeys(keys.filter((k) => k.startsWith('datasets/'))));
    assert.deepEqual(await list('../'), ['../outside.csv']);
    await assert.rejects(get('planted.csv', ARTIFACTS), s3Error('NoSuchKey', 404));
    assert.deepEqual(
      (await list('', ARTIFACTS)).filter((k) => k.includes('planted')),
      [],
    );
    assert.equal(
      files(join(s3Dir, ARTIFACTS)).some((path) => path.includes('planted')),
      false,
    );

    // s3rver's delete removed the folders a key emptied by walking its raw segments, outside the bucket too.
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: DATASETS, Key: key }));
    for (const key of keys) await assert.rejects(get(key), s3Error('NoSuchKey', 404));
    assertNothingEscaped();
  });

  it('stores keys that differ only by ".", "..", empty segments or a trailing slash as distinct objects', async () => {
    const before = files(join(s3Dir, DATASETS));
    const keys = [
      'same/a/b',
      'same/a/./b',
      'same/./a/b',
      'same/a//b',
      'same//a/b',
      'same/a/../a/b',
      'same/a/b/',
      'same/a/b//',
      'same/a/b/.',
      'same/a/b/..',
      'same/%2e%2e/a/b',
      'same/a/b.',
    ];
    for (const key of keys) await put(key);

    for (const key of keys) {
      assert.equal(await get(key), `body of ${key}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: DATASETS, Key: key }));
      assert.equal(head.ContentLength, Buffer.byteLength(`body of ${key}`));
    }
    assert.deepEqual(await list('same/'), sortKeys(keys));
    assertNothingEscaped();

    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: DATASETS, Key: key }));
    assert.deepEqual(await list('same/'), []);
    // Nothing left behind: no object, metadata or checksum file of any of them.
    assert.deepEqual(files(join(s3Dir, DATASETS)).sort(), before.sort());
  });

  it('round-trips unicode, percent signs, a leading slash, long segments and 1024-byte keys', async () => {
    const keys = [
      'odd/données/été/☃ 🚀.csv',
      'odd/100%.csv',
      'odd/%2e%2e/%2F/x',
      'odd/a+b c&d=e?f#g.csv',
      '/odd/leading-slash.csv',
      // A segment longer than a file name can be (255 bytes), in the middle and at the end.
      `odd/${'s'.repeat(300)}/x.csv`,
      `odd/${'é'.repeat(150)}`,
      // 1024 bytes: one long segment; many short ones; multi-byte characters.
      `odd/${'x'.repeat(1020)}`,
      'odd/abc/'.repeat(128),
      `odd/${'€'.repeat(340)}`,
    ];
    for (const key of keys.slice(-3)) assert.equal(Buffer.byteLength(key), 1024);
    for (const key of keys) await put(key);

    for (const key of keys) assert.equal(await get(key), `body of ${key}`);
    assert.deepEqual(await list('odd/'), sortKeys(keys.filter((k) => k.startsWith('odd/'))));
    assert.deepEqual(await list('/odd/'), ['/odd/leading-slash.csv']);
    assertNothingEscaped();
  });

  it('lists a key XML cannot carry when asked for URL-encoded keys, as S3 does', async () => {
    const key = 'control/a\u0001b\u0000c.csv';
    await put(key);
    assert.equal(await get(key), `body of ${key}`);
    const response = await s3.send(
      new ListObjectsV2Command({ Bucket: DATASETS, Prefix: 'control/', EncodingType: 'url' }),
    );
    assert.equal(response.EncodingType, 'url');
    assert.deepEqual(
      (response.Contents ?? []).map((object) => decodeURIComponent(object.Key ?? '')),
      [key],
    );
  });

  it("refuses a key over 1024 bytes of UTF-8 with S3's KeyTooLongError, and writes nothing", async () => {
    const before = files(join(s3Dir, DATASETS));
    for (const key of [`long/${'x'.repeat(1020)}`, `long/${'é'.repeat(511)}`]) {
      assert.equal(Buffer.byteLength(key), key.startsWith('long/x') ? 1025 : 1027);
      await assert.rejects(put(key), s3Error('KeyTooLongError', 400));
      await assert.rejects(get(key), s3Error('KeyTooLongError', 400));
    }
    assert.deepEqual(files(join(s3Dir, DATASETS)).sort(), before.sort());
  });

  it('deletes the keys DeleteObjects names, and refuses those that s3rver parses as numbers', async () => {
    for (const key of ['deletes/ spaced.csv ', 'deletes/spaced.csv', '7', '007']) await put(key);
    // s3rver trimmed each key in the body: this deleted `deletes/spaced.csv`.
    const deleted = await s3.send(
      new DeleteObjectsCommand({ Bucket: DATASETS, Delete: { Objects: [{ Key: 'deletes/ spaced.csv ' }] } }),
    );
    assert.deepEqual(
      (deleted.Deleted ?? []).map((object) => object.Key),
      ['deletes/ spaced.csv '],
    );
    assert.deepEqual(await list('deletes/'), ['deletes/spaced.csv']);
    // s3rver reads <Key>007</Key> as the number 7 (it answered 500): a 400 naming the key, and object 7 untouched.
    await assert.rejects(
      s3.send(new DeleteObjectsCommand({ Bucket: DATASETS, Delete: { Objects: [{ Key: '007' }] } })),
      s3Error('InvalidArgument', 400),
    );
    assert.equal(await get('7'), 'body of 7');
    await s3.send(new DeleteObjectCommand({ Bucket: DATASETS, Key: '007' }));
    await assert.rejects(get('007'), s3Error('NoSuchKey', 404));
  });

  it('lists with prefix, delimiter and start-after in S3 order, and pages without repeating', async () => {
    const keys = [
      'list/a',
      'list/a/b',
      'list/a/b/c',
      'list/a.c',
      'list/./x',
      'list/../y',
      'list//z',
      'list/b/',
      'list/é',
      'list/z',
    ];
    for (const key of keys) await put(key);

    assert.deepEqual(await list('list/'), sortKeys(keys));

    const folders = await s3.send(
      new ListObjectsV2Command({ Bucket: DATASETS, Prefix: 'list/', Delimiter: '/' }),
    );
    assert.deepEqual(
      (folders.Contents ?? []).map((object) => object.Key),
      ['list/a', 'list/a.c', 'list/z', 'list/é'],
    );
    // `list/a/` holds only deeper keys, and is reported all the same.
    assert.deepEqual(
      (folders.CommonPrefixes ?? []).map((common) => common.Prefix),
      ['list/../', 'list/./', 'list//', 'list/a/', 'list/b/'],
    );

    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: DATASETS, Prefix: 'list/', StartAfter: 'list/a/b' }),
    );
    assert.deepEqual(
      (after.Contents ?? []).map((object) => object.Key),
      sortKeys(keys).filter((key) => Buffer.compare(Buffer.from(key), Buffer.from('list/a/b')) > 0),
    );

    // Paged by marker, as aws/object-store.ts pages (one key a page: prefixes must not repeat across pages).
    for (const delimiter of [undefined, '/']) {
      const whole = await s3.send(
        new ListObjectsCommand({ Bucket: DATASETS, Prefix: 'list/', Delimiter: delimiter }),
      );
      const paged: { keys: string[]; prefixes: string[] } = { keys: [], prefixes: [] };
      let page: ListObjectsCommandOutput | undefined;
      do {
        const marker: string | undefined = page?.NextMarker ?? page?.Contents?.at(-1)?.Key;
        page = await s3.send(
          new ListObjectsCommand({
            Bucket: DATASETS,
            Prefix: 'list/',
            Delimiter: delimiter,
            MaxKeys: 1,
            Marker: marker,
          }),
        );
        paged.keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
        paged.prefixes.push(...(page.CommonPrefixes ?? []).map((common) => common.Prefix ?? ''));
      } while (page.IsTruncated);
      assert.deepEqual(
        paged.keys,
        (whole.Contents ?? []).map((object) => object.Key),
      );
      assert.deepEqual(
        paged.prefixes,
        (whole.CommonPrefixes ?? []).map((common) => common.Prefix),
      );
    }
  });

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
