/** Objects in S3: bytes and JSON, by bucket and key. */
import { GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import { NotFoundError } from '../core/errors.ts';
import { s3Client } from './clients.ts';

export async function getBytes(bucket: string, key: string): Promise<Uint8Array> {
  try {
    const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new NotFoundError(`s3://${bucket}/${key} has no body`);
    return await response.Body.transformToByteArray();
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`, { cause: error });
    }
    throw error;
  }
}

/** Reads an object, or `undefined` when there is none. */
export async function getBytesIfExists(bucket: string, key: string): Promise<Uint8Array | undefined> {
  try {
    return await getBytes(bucket, key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
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
): Promise<void> {
  await s3Client().send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
  );
}

export async function putJson(bucket: string, key: string, value: unknown): Promise<void> {
  await putBytes(bucket, key, new TextEncoder().encode(JSON.stringify(value)), 'application/json');
}
