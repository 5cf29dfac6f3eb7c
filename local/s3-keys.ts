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
 *
 * This file checks the requests and puts the store in s3rver; ./s3-store.ts is the store, ./s3-key-paths.ts the
 * key → path mapping and the checks, ./s3-listing.ts the listing in S3's order.
 */
import { Readable } from 'node:stream';
import {
  checkKeyLength,
  decodePathPart,
  invalidBucketName,
  isBucketName,
  noSuchUpload,
  S3Error,
} from './s3-key-paths.ts';
import { KeySafeStore } from './s3-store.ts';

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
