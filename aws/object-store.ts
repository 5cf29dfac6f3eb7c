/** Objects in S3: bytes and JSON, by bucket and key. */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsCommand,
  NoSuchKey,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NotFoundError } from '../core/errors.ts';
import type { ObjectCap } from '../core/limits.ts';
import { s3Client } from './clients.ts';

/**
 * An object's bytes. With a `cap`, an object larger than `cap.maxBytes` is refused from its Content-Length
 * before its body is read (and, had it none, as the body arrives), and the body is read into one buffer.
 */
export async function getBytes(bucket: string, key: string, cap?: ObjectCap): Promise<Uint8Array> {
  try {
    const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new NotFoundError(`s3://${bucket}/${key} has no body`);
    if (!cap) return await response.Body.transformToByteArray();
    return await readCapped(response.Body as AsyncIterable<Uint8Array>, response.ContentLength, cap);
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`, { cause: error });
    }
    throw error;
  }
}

/**
 * A body into one buffer, refused past `cap.maxBytes`: allocated once from its Content-Length (a 512 MiB zip
 * costs 512 MiB, not twice that), or gathered and counted when there is none.
 */
async function readCapped(
  body: AsyncIterable<Uint8Array> & { destroy?: () => void },
  length: number | undefined,
  cap: ObjectCap,
): Promise<Uint8Array> {
  if (length !== undefined && length > cap.maxBytes) {
    body.destroy?.();
    throw cap.tooLarge(length);
  }
  const bytes = length === undefined ? undefined : new Uint8Array(length);
  const chunks: Uint8Array[] = [];
  let filled = 0;
  // Leaving the loop by a throw destroys the stream.
  for await (const chunk of body) {
    if (filled + chunk.byteLength > cap.maxBytes) throw cap.tooLarge(filled + chunk.byteLength);
    if (bytes) bytes.set(chunk, filled);
    else chunks.push(chunk);
    filled += chunk.byteLength;
  }
  return bytes ? bytes.subarray(0, filled) : Buffer.concat(chunks, filled);
}

/** An object's bytes as they arrive: a file of any size, in constant memory. */
export async function* getStream(bucket: string, key: string): AsyncGenerator<Uint8Array> {
  let response: GetObjectCommandOutput;
  try {
    response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`, { cause: error });
    }
    throw error;
  }
  if (!response.Body) throw new NotFoundError(`s3://${bucket}/${key} has no body`);
  for await (const chunk of response.Body as AsyncIterable<Uint8Array>) yield chunk;
}

/** Reads an object, or `undefined` when there is none. */
export async function getBytesIfExists(
  bucket: string,
  key: string,
  cap?: ObjectCap,
): Promise<Uint8Array | undefined> {
  try {
    return await getBytes(bucket, key, cap);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** An object's size and user metadata (`x-amz-meta-*`, lowercase names), without its body. */
export async function headObject(
  bucket: string,
  key: string,
): Promise<{ size?: number; metadata?: Record<string, string> }> {
  try {
    const head = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      ...(head.ContentLength === undefined ? {} : { size: head.ContentLength }),
      ...(head.Metadata ? { metadata: head.Metadata } : {}),
    };
  } catch (error) {
    if (
      (error as { name?: string }).name === 'NotFound' ||
      (error as { name?: string }).name === 'NoSuchKey'
    ) {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`, { cause: error });
    }
    throw error;
  }
}

export async function getJson<T>(bucket: string, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await getBytes(bucket, key))) as T;
}

export async function putBytes(
  bucket: string,
  key: string,
  body: Uint8Array,
  contentType: string,
  options: { readonly abortSignal?: AbortSignal; readonly metadata?: Record<string, string> } = {},
): Promise<void> {
  await s3Client().send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ...(options.metadata ? { Metadata: options.metadata } : {}),
    }),
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
}

/**
 * A link that downloads an object without credentials for `seconds` (a presigned GET, signed with the
 * caller's: it opens no more than the caller may read, and never longer than their session), saved as
 * `filename`.
 */
export function downloadUrl(bucket: string, key: string, filename: string, seconds: number): Promise<string> {
  return getSignedUrl(
    s3Client(),
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ResponseContentDisposition: `attachment; filename="${filename.replace(/["\\\r\n]/g, '_')}"`,
    }),
    { expiresIn: seconds },
  );
}

export async function putJson(bucket: string, key: string, value: unknown): Promise<void> {
  await putBytes(bucket, key, new TextEncoder().encode(JSON.stringify(value)), 'application/json');
}

/** Copies an object within a bucket, server-side. */
export async function copyObject(bucket: string, from: string, to: string): Promise<void> {
  await s3Client().send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: to,
      CopySource: `${bucket}/${encodeURIComponent(from).replaceAll('%2F', '/')}`,
    }),
  );
}

/**
 * Every object under `prefix` (after `options.after`), in key order (all pages). ListObjects (v1), paged by marker = the last key:
 * s3rver's v2 continuation tokens use DES, which OpenSSL 3 no longer offers, so v2 fails past 1,000 keys there.
 */
export async function listObjects(
  bucket: string,
  prefix: string,
  options: {
    /** Only keys after this one. */
    readonly after?: string;
    /** Stop after about this many keys (whole pages). */
    readonly limit?: number;
  } = {},
): Promise<{ key: string; etag?: string; size?: number }[]> {
  const objects: { key: string; etag?: string; size?: number }[] = [];
  let marker: string | undefined = options.after;
  for (;;) {
    const page = await s3Client().send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, ...(marker ? { Marker: marker } : {}) }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key) {
        objects.push({ key: object.Key, ...(object.ETag ? { etag: object.ETag } : {}), size: object.Size });
      }
    }
    const last = page.Contents?.[page.Contents.length - 1]?.Key;
    if (!page.IsTruncated || !last || objects.length >= (options.limit ?? Number.POSITIVE_INFINITY)) {
      return objects;
    }
    marker = page.NextMarker ?? last;
  }
}

/** Deletes every object under `prefix` (1,000 at a time, as S3's DeleteObjects takes them). */
export async function deletePrefix(bucket: string, prefix: string): Promise<number> {
  const keys = (await listObjects(bucket, prefix)).map((o) => o.key);
  for (let i = 0; i < keys.length; i += 1000) {
    await s3Client().send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
  return keys.length;
}

/**
 * Runs `task` over `items` with at most `limit` in flight; results in input order. The first task that throws
 * rejects the whole, and no further task starts.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T, index);
      } catch (error) {
        next = items.length;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
