/**
 * S3 keys on s3rver's filesystem store, kept inside their bucket and exactly as the client wrote them.
 *
 * s3rver turns a key into a path by splitting it on `/`: `..` segments climb out of the bucket's folder (into
 * another bucket, or out of the data folder), `.` and empty segments collapse (`a/./b`, `a//b` and `a/b` were one
 * object, and `a//b` did not even route), a segment too long for a file name made a write stream fail with no one
 * listening (which ended the process), and its listing walked folders in their own order rather than S3's. In S3 a key is an opaque string of up to 1024 bytes of
 * UTF-8, so here:
 *
 * - a key whose segments are all plain file names keeps the path s3rver always gave it (existing data folders
 *   still read, and a user can find the file);
 * - any other key is stored under `<bucket>/._S3rver_keys/` by the SHA-256 of the key, with the key itself written
 *   beside the object (`<hash>._S3rver_key`), which listing reads back;
 * - each request is checked before s3rver routes it: a bucket name must be a single folder name, a key at most
 *   1024 bytes (S3's `KeyTooLongError`), and the key is handed to s3rver's router percent-encoded whole, so the
 *   controllers (and the object events they emit) see the exact key;
 * - multipart upload ids and part numbers, which s3rver joins into paths, must be what it generated;
 * - the keys in a DeleteObjects body reach s3rver untrimmed.
 *
 * docs/limits.md ("Local S3 keys") says what a user sees.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

/** S3's limit on a key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/** What s3rver puts between a key's last segment and the kind of file (`object`, `metadata.json`, …). */
const MARK = '._S3rver_';
const OBJECT_SUFFIX = `${MARK}object`;
/** The longest file s3rver writes for an object is `<last segment>._S3rver_metadata.json`. */
const LONGEST_SUFFIX_BYTES = `${MARK}metadata.json`.length;
/** Bytes in a file name on the filesystems this runs on (ext4, APFS, NTFS). */
const NAME_MAX = 255;
/** The folder, in each bucket, of the keys that cannot be paths (by hash), and the file that holds each key. */
const HASHED_DIR = `${MARK}keys`;
const KEY_RESOURCE = 'key';
const KEY_SUFFIX = `${MARK}${KEY_RESOURCE}`;
const WINDOWS = process.platform === 'win32';
/** Wide enough for S3's legacy names, and never `.`, `..` or a path. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
/** The upload ids s3rver generates (16 random bytes, hex). */
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const MAX_PART_NUMBER = 10_000;

// --- s3rver's classes, as far as this file uses them -------------------------------------------------------

type Metadata = Record<string, string | number>;

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
}

interface ListOptions {
  readonly delimiter?: string | undefined;
  readonly startAfter?: string | undefined;
  readonly prefix?: string | undefined;
  readonly maxKeys?: number | undefined;
}

interface ListResult {
  readonly objects: unknown[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
}

interface FilesystemStoreBase {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getBucket(bucket: string): Promise<unknown>;
  getMetadata(bucket: string, key: string): Promise<Metadata>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Metadata | null,
  ): Promise<Metadata>;
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  putPart(bucket: string, uploadId: string, partNumber: string, content: unknown): Promise<unknown>;
  putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: { number: number; etag: string }[],
  ): Promise<unknown>;
}

const FilesystemStore = require('s3rver/lib/stores/filesystem') as new (
  rootDirectory: string,
) => FilesystemStoreBase;
const S3Object = require('s3rver/lib/models/object') as new (
  bucket: string,
  key: string,
  content: null,
  metadata: Metadata,
) => unknown;
/** s3rver renders these as S3's XML error responses, with the status S3 gives the code. */
const S3Error = require('s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, string | number>,
) => Error;

interface KoaContext {
  /** The request body as controllers read it (Koa's `ctx.request.req` stays the socket's). */
  req: Readable;
  readonly method: string;
  path: string;
  readonly query: Record<string, string | string[] | undefined>;
  readonly headers: Record<string, string | string[] | undefined>;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** The parts of an s3rver instance (a Koa app) that {@link guardKeys} changes. */
export interface S3rverApp {
  store: unknown;
  readonly context: { store: unknown };
  readonly middleware: (Middleware & { router?: unknown })[];
}

// --- the store ------------------------------------------------------------------------------------------------

/** s3rver's FilesystemStore, with every key kept inside its bucket's folder and listed as it was written. */
export class KeySafeStore extends FilesystemStore {
  override getBucketPath(bucket: string): string {
    if (!isBucketName(bucket)) throw invalidBucketName(bucket);
    return super.getBucketPath(bucket);
  }

  /** A folder in the data directory whose name is no bucket name is no bucket (ListBuckets skips it). */
  override async getBucket(bucket: string): Promise<unknown> {
    return isBucketName(bucket) ? super.getBucket(bucket) : null;
  }

  override getResourcePath(bucket: string, key: string | undefined, resource: string): string {
    const bucketPath = this.getBucketPath(bucket);
    // s3rver keeps a bucket's own files (uploads, cors, website) at key '', which no object can have.
    if (key === undefined || key === '') return join(bucketPath, `${MARK}${resource}`);
    // s3rver parses a DeleteObjects body with numbers and booleans converted ("007" → 7): refuse, rather than
    // delete another object.
    if (typeof key !== 'string') {
      throw new S3Error(
        'InvalidArgument',
        'The local S3 read this key as a number or boolean; delete it with DeleteObject',
        {
          ArgumentName: 'Key',
          ArgumentValue: String(key),
        },
      );
    }
    const segments = pathSegments(key);
    if (segments) return join(bucketPath, ...segments.folders, `${segments.name}${MARK}${resource}`);
    return join(bucketPath, HASHED_DIR, `${keyHash(key)}${MARK}${resource}`);
  }

  override async putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    await this.recordKey(object.bucket, object.key);
    return super.putObject(object);
  }

  override async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Metadata | null,
  ): Promise<Metadata> {
    await this.recordKey(destBucket, destKey);
    return super.copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
  }

  /**
   * s3rver's own removes the folders the key emptied by joining the raw segments to the bucket's path, so `..`
   * made it look at (and remove) folders outside the bucket: here only the key's own folders, below the bucket.
   * It also left the object's tags behind for the next object of that key.
   */
  override async deleteObject(bucket: string, key: string): Promise<void> {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json', 'tagging.xml'].map((resource) =>
        rm(this.getResourcePath(bucket, key, resource), { force: true }),
      ),
    );
    const segments = pathSegments(key);
    if (!segments) {
      // The key's own file last: one a crash left without its object is skipped by listing, rewritten by a PUT.
      await rm(this.getResourcePath(bucket, key, KEY_RESOURCE), { force: true });
      return;
    }
    const bucketPath = this.getBucketPath(bucket);
    for (let depth = segments.folders.length; depth > 0; depth--) {
      try {
        await rmdir(join(bucketPath, ...segments.folders.slice(0, depth)));
      } catch (error) {
        // Not empty (another key lives there) or already gone: its parents are not empty either.
        if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errorCode(error) ?? '')) return;
        throw error;
      }
    }
  }

  /**
   * Keys in S3's order (bytes of UTF-8), which s3rver's folder walk did not give (`a/b` came before `a.c`, a
   * trailing-slash key before its siblings), with a common prefix reported even when its keys are deeper than one
   * folder (s3rver did not descend there), and a truncated page holding only the common prefixes before its last
   * key (the next page starts after that key and would repeat the others).
   */
  override async listObjects(bucket: string, options: ListOptions): Promise<ListResult> {
    const prefix = options.prefix ?? '';
    const startAfter = options.startAfter ?? '';
    const delimiter = options.delimiter ?? '';
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    const bucketPath = this.getBucketPath(bucket);
    const walk: WalkState = { prefix, startAfter };
    const keys: string[] = [];
    const commonPrefixes: string[] = [];
    let isTruncated = false;
    const hashed = await hashedKeys(bucketPath, prefix);
    for await (const key of mergeSorted(pathKeys(bucketPath, '', walk), hashed)) {
      if (!key.startsWith(prefix) || compareKeys(key, startAfter) <= 0) continue;
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (at !== -1) {
        const commonPrefix = key.slice(0, at + delimiter.length);
        // Keys sharing a prefix are adjacent in sorted order.
        if (commonPrefixes.at(-1) !== commonPrefix) commonPrefixes.push(commonPrefix);
        walk.skipUnder = commonPrefix;
        continue;
      }
      if (keys.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      keys.push(key);
    }
    const last = keys.at(-1);
    if (isTruncated && last !== undefined) {
      while (commonPrefixes.length > 0 && compareKeys(commonPrefixes.at(-1) ?? '', last) > 0) {
        commonPrefixes.pop();
      }
    }
    const metadata = await Promise.all(
      keys.map((key) =>
        this.getMetadata(bucket, key).catch((error: unknown) => {
          // Deleted since it was listed.
          if (errorCode(error) === 'ENOENT') return undefined;
          throw error;
        }),
      ),
    );
    const objects = keys.flatMap((key, i) => {
      const meta = metadata[i];
      return meta ? [new S3Object(bucket, key, null, meta)] : [];
    });
    return { objects, commonPrefixes, isTruncated };
  }

  /** s3rver joins the client's upload id and part number into a path: only those it could have made. */
  override async putPart(
    bucket: string,
    uploadId: string,
    partNumber: string,
    content: unknown,
  ): Promise<unknown> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    const number = Number(partNumber);
    if (!/^\d{1,5}$/.test(partNumber) || number < 1 || number > MAX_PART_NUMBER) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: partNumber,
      });
    }
    return super.putPart(bucket, uploadId, String(number), content);
  }

  /** A part that was never uploaded made s3rver's read stream fail with no listener, which ends the process. */
  override async putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: { number: number; etag: string }[],
  ): Promise<unknown> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    const uploadDir = join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    for (const part of parts) {
      const exists =
        Number.isInteger(part.number) &&
        part.number >= 1 &&
        part.number <= MAX_PART_NUMBER &&
        (await stat(join(uploadDir, String(part.number))).then(
          (s) => s.isFile(),
          () => false,
        ));
      if (!exists) {
        throw new S3Error(
          'InvalidPart',
          'One or more of the specified parts could not be found. The part may not have been uploaded, or the ' +
            "specified entity tag may not match the part's entity tag.",
          { UploadId: uploadId, PartNumber: String(part.number) },
        );
      }
    }
    return super.putObjectMultipart(bucket, uploadId, parts);
  }

  /** The key a multipart upload was started for; undefined when there is no such upload. */
  async uploadKey(bucket: string, uploadId: string): Promise<string | undefined> {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    try {
      return await readFile(
        join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, 'key'),
        'utf8',
      );
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** A key stored by hash has its text written beside it, before the object, for listing to read. */
  private async recordKey(bucket: string, key: string): Promise<void> {
    if (pathSegments(key)) return;
    const keyPath = this.getResourcePath(bucket, key, KEY_RESOURCE);
    await mkdir(dirname(keyPath), { recursive: true });
    await writeFile(keyPath, key);
  }
}

/**
 * The key as folders and a last segment, when every segment can be a file name as it is (the path s3rver always
 * gave it); undefined for a key that has to be stored by hash.
 */
function pathSegments(key: string): { folders: string[]; name: string } | undefined {
  const folders = key.split('/');
  // The last segment is embedded in file names (`<name>._S3rver_object`), so `.`, `..` and '' (a key ending in
  // `/`) are safe there; it only has to leave room for the longest suffix.
  const name = folders.pop() ?? '';
  if (Buffer.byteLength(name) > NAME_MAX - LONGEST_SUFFIX_BYTES || unsafeInName(name)) return undefined;
  for (const folder of folders) {
    const plain =
      folder !== '' &&
      folder !== '.' &&
      folder !== '..' &&
      Buffer.byteLength(folder) <= NAME_MAX &&
      !unsafeInName(folder) &&
      // A folder named like one of s3rver's files would collide with it (`x._S3rver_object/` with key `x`).
      !folder.includes(MARK) &&
      // Windows drops a trailing dot or space from a name.
      !(WINDOWS && /[. ]$/.test(folder));
    if (!plain) return undefined;
  }
  return { folders, name };
}

/** Whether a file name cannot hold `name`: NUL anywhere; on Windows also control characters and `<>:"\|?*`. */
function unsafeInName(name: string): boolean {
  if (name.includes('\u0000')) return true;
  return WINDOWS && (/[<>:"\\|?*]/.test(name) || [...name].some((c) => c.charCodeAt(0) < 0x20));
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** S3 orders keys by their bytes in UTF-8 (JavaScript's `<` compares UTF-16 units, which differs above U+FFFF). */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

interface WalkState {
  readonly prefix: string;
  readonly startAfter: string;
  /** A common prefix already reported: no need to read the folders under it. */
  skipUnder?: string;
}

/**
 * The keys stored as paths under `dir`, in S3's order: a folder's keys all begin with `<folder>/`, so sorting a
 * folder's entries by `<folder>/` and `<file's key>` and descending in that order yields every key in order.
 */
async function* pathKeys(dir: string, keyPrefix: string, walk: WalkState): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
    throw error;
  }
  const children: { key: string; bytes: Buffer; dir?: string }[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // s3rver follows links and some filesystems do not say what an entry is: ask.
    const kind = entry.isFile() || entry.isDirectory() ? entry : await stat(path).catch(() => undefined);
    if (kind?.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
      const key = keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length);
      children.push({ key, bytes: Buffer.from(key) });
    } else if (kind?.isDirectory() && !entry.name.includes(MARK)) {
      // (s3rver's uploads and the hashed keys are folders with the mark; plain key folders never have it.)
      const under = `${keyPrefix}${entry.name}/`;
      const meetsPrefix = under.startsWith(walk.prefix) || walk.prefix.startsWith(under);
      const allBeforeStart = compareKeys(under, walk.startAfter) < 0 && !walk.startAfter.startsWith(under);
      if (meetsPrefix && !allBeforeStart) children.push({ key: under, bytes: Buffer.from(under), dir: path });
    }
  }
  children.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  for (const child of children) {
    if (child.dir === undefined) yield child.key;
    else if (!(walk.skipUnder !== undefined && child.key.startsWith(walk.skipUnder))) {
      yield* pathKeys(child.dir, child.key, walk);
    }
  }
}

/** The keys stored by hash under `prefix`, sorted; only those whose object is there. */
async function hashedKeys(bucketPath: string, prefix: string): Promise<string[]> {
  const dir = join(bucketPath, HASHED_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  const present = new Set(names);
  const keys: string[] = [];
  for (const name of names) {
    if (!name.endsWith(KEY_SUFFIX)) continue;
    const hash = name.slice(0, -KEY_SUFFIX.length);
    if (!present.has(`${hash}${OBJECT_SUFFIX}`)) continue;
    const key = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (key?.startsWith(prefix) && keyHash(key) === hash) keys.push(key);
  }
  return keys.sort(compareKeys);
}

async function* mergeSorted(paths: AsyncIterable<string>, hashed: readonly string[]): AsyncGenerator<string> {
  let i = 0;
  for await (const key of paths) {
    for (let next = hashed[i]; next !== undefined && compareKeys(next, key) < 0; next = hashed[++i]) {
      yield next;
    }
    yield key;
  }
  for (; i < hashed.length; i++) yield hashed[i] as string;
}

// --- requests ------------------------------------------------------------------------------------------------

/**
 * Puts a {@link KeySafeStore} in the s3rver instance and checks each request's bucket and key before s3rver's router
 * sees them (after its virtual-host middleware has moved a bucket from the host name into the path).
 */
export function guardKeys(server: S3rverApp, directory: string): void {
  const store = new KeySafeStore(directory);
  server.store = store;
  server.context.store = store;
  const routerAt = server.middleware.findIndex((middleware) => 'router' in middleware);
  if (routerAt === -1) {
    throw new Error('s3rver has no router middleware (its layout changed): keys cannot be checked');
  }
  server.middleware.splice(routerAt, 0, checkRequest(store));
}

function checkRequest(store: KeySafeStore): Middleware {
  return async (ctx, next) => {
    const match = /^\/([^/]+)(?:\/(.*))?$/s.exec(ctx.path);
    const rawBucket = match?.[1];
    const rawKey = match?.[2];
    if (rawBucket !== undefined) {
      const bucket = decodePathPart(rawBucket);
      if (!isBucketName(bucket)) throw invalidBucketName(bucket);
      if (rawKey) {
        const key = decodePathPart(rawKey);
        checkKeyLength(key);
        // s3rver's router matches `/:bucket/:key+`, whose segments cannot be empty (`a//b`, `/a`), and decodes
        // what it matched: one encoded segment routes every key and decodes to exactly it.
        ctx.path = `/${bucket}/${encodeURIComponent(key)}`;
        const copySource = ctx.headers['x-amz-copy-source'];
        if (ctx.method === 'PUT' && typeof copySource === 'string') {
          ctx.headers['x-amz-copy-source'] = copySourceFor(copySource);
        }
        const uploadId = ctx.query.uploadId;
        if (uploadId !== undefined && (ctx.method === 'PUT' || ctx.method === 'POST')) {
          // s3rver completes an upload at the key it was started for but reports the key in the URL (in the
          // response and the event): they have to be the same, as S3 requires.
          const id = String(uploadId);
          if ((await store.uploadKey(bucket, id)) !== key) throw noSuchUpload(id);
        }
      }
    }
    if (rawBucket !== undefined && !rawKey && ctx.method === 'POST' && 'delete' in ctx.query) {
      ctx.req = Readable.from([keepKeysUntrimmed(await readBody(ctx.req))]);
    }
    await next();
    if (rawBucket !== undefined && !rawKey && ctx.query['encoding-type'] === 'url') urlEncodeListing(ctx);
  };
}

async function readBody(req: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * s3rver parses a DeleteObjects body with its values trimmed, so `<Key> a.csv</Key>` deleted `a.csv`. It trims before
 * it decodes character references: written as references, the spaces at either end of a key stay. (A key that then
 * reads as a number is refused by the store.)
 */
function keepKeysUntrimmed(xml: string): string {
  return xml.replace(/<Key>([\s\S]*?)<\/Key>/g, (_, key: string) => {
    const kept = key.replace(/^\s+|\s+$/g, (spaces) =>
      [...spaces].map((space) => `&#${space.codePointAt(0)};`).join(''),
    );
    return `<Key>${kept}</Key>`;
  });
}

/** A path part percent-decoded as UTF-8; S3's InvalidURI when it is not. */
function decodePathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: raw });
  }
}

function checkKeyLength(key: string): void {
  const size = Buffer.byteLength(key);
  if (size > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', 'Your key is too long', {
      Size: size,
      MaxSizeAllowed: MAX_KEY_BYTES,
    });
  }
}

/**
 * `x-amz-copy-source` is `<bucket>/<key>` URL-encoded, optionally `?versionId=`. s3rver reads it with `decodeURI`,
 * which leaves `%2B`, `%3F`, `%23`… encoded (a key with `+` was not found) and throws on a lone `%`: hand it a value
 * that `decodeURI` turns into exactly the bucket and key.
 */
function copySourceFor(header: string): string {
  const path = header.split('?', 1)[0] ?? '';
  const source = path.startsWith('/') ? path.slice(1) : path;
  const slash = source.indexOf('/');
  if (slash <= 0 || slash === source.length - 1) {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      {
        ArgumentName: 'x-amz-copy-source',
        ArgumentValue: header,
      },
    );
  }
  const bucket = decodePathPart(source.slice(0, slash));
  if (!isBucketName(bucket)) throw invalidBucketName(bucket);
  const key = decodePathPart(source.slice(slash + 1));
  checkKeyLength(key);
  return encodeURI(`${bucket}/${key}`);
}

/**
 * `encoding-type=url` (which awscli and boto3 always send) asks for the keys URL-encoded, the only way a key with a
 * character XML cannot carry comes back; s3rver ignores it. The fields are those S3 encodes (and botocore decodes).
 */
function urlEncodeListing(ctx: KoaContext): void {
  const result = (ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined)?.ListBucketResult;
  if (!result) return;
  const fields =
    ctx.query['list-type'] === '2'
      ? ['Delimiter', 'Prefix', 'StartAfter']
      : ['Delimiter', 'Marker', 'NextMarker'];
  for (const field of fields) {
    const value = result[field];
    if (typeof value === 'string') result[field] = encodeURIComponent(value);
  }
  for (const object of (result.Contents ?? []) as { Key: string }[]) {
    object.Key = encodeURIComponent(object.Key);
  }
  for (const common of (result.CommonPrefixes ?? []) as { Prefix: string }[]) {
    common.Prefix = encodeURIComponent(common.Prefix);
  }
  result.EncodingType = 'url';
}

/** The key as an S3 event notification carries it: URL-encoded, a space as `+`. */
export function notificationKey(key: string): string {
  return encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
}

function isBucketName(bucket: string): boolean {
  return BUCKET_NAME.test(bucket);
}

function invalidBucketName(bucket: string): Error {
  return new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
}

function noSuchUpload(uploadId: string): Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or ' +
      'completed.',
    { UploadId: uploadId },
  );
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}
