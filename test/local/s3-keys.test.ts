/**
 * The local S3 (s3rver behind local/s3-keys.ts) driven by the real SDK: keys are opaque strings of up to 1024
 * bytes, as in S3, and none leaves its bucket's folder — stored, read, listed and deleted. Copies, uploads,
 * events, raw HTTP and awscli: s3-operations.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  type ListObjectsCommandOutput,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import {
  ARTIFACTS,
  assertNothingEscaped,
  DATASETS,
  files,
  get,
  list,
  localS3Fixture,
  put,
  s3,
  s3Dir,
  s3Error,
  sortKeys,
} from './s3-fixture.ts';

localS3Fixture();

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
});
