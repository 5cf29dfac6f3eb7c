/**
 * s3rver's filesystem store with every key kept inside its bucket's folder (at the path ./s3-key-paths.ts gives
 * it) and listed as it was written (./s3-listing.ts); multipart upload ids and part numbers only as s3rver made
 * them.
 */
import { mkdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  errorCode,
  HASHED_DIR,
  invalidBucketName,
  isBucketName,
  KEY_RESOURCE,
  keyHash,
  MARK,
  MAX_PART_NUMBER,
  noSuchUpload,
  pathSegments,
  S3Error,
  UPLOAD_ID,
} from './s3-key-paths.ts';
import { type ListOptions, listKeys } from './s3-listing.ts';

const require = createRequire(import.meta.url);

// --- s3rver's classes, as far as this file uses them -------------------------------------------------------

type Metadata = Record<string, string | number>;

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
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

  /** Keys in S3's order, as {@link listKeys} finds them, each with its metadata (one deleted since is left out). */
  override async listObjects(bucket: string, options: ListOptions): Promise<ListResult> {
    const { keys, commonPrefixes, isTruncated } = await listKeys(this.getBucketPath(bucket), options);
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
