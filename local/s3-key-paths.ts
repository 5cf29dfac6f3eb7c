/**
 * Where a key lives in s3rver's filesystem store, and the checks on bucket names, keys and upload ids (see
 * ./s3-keys.ts for the whole scheme): a key whose segments are all plain file names keeps the path s3rver always
 * gave it; any other is stored by its hash. The errors thrown are s3rver's, rendered as S3's XML responses.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** S3's limit on a key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/** What s3rver puts between a key's last segment and the kind of file (`object`, `metadata.json`, …). */
export const MARK = '._S3rver_';
export const OBJECT_SUFFIX = `${MARK}object`;
/** The longest file s3rver writes for an object is `<last segment>._S3rver_metadata.json`. */
const LONGEST_SUFFIX_BYTES = `${MARK}metadata.json`.length;
/** Bytes in a file name on the filesystems this runs on (ext4, APFS, NTFS). */
const NAME_MAX = 255;
/** The folder, in each bucket, of the keys that cannot be paths (by hash), and the file that holds each key. */
export const HASHED_DIR = `${MARK}keys`;
export const KEY_RESOURCE = 'key';
export const KEY_SUFFIX = `${MARK}${KEY_RESOURCE}`;
const WINDOWS = process.platform === 'win32';
/** Wide enough for S3's legacy names, and never `.`, `..` or a path. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
/** The upload ids s3rver generates (16 random bytes, hex). */
export const UPLOAD_ID = /^[0-9a-f]{32}$/;
export const MAX_PART_NUMBER = 10_000;

/** s3rver renders these as S3's XML error responses, with the status S3 gives the code. */
export const S3Error = require('s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, string | number>,
) => Error;

/**
 * The key as folders and a last segment, when every segment can be a file name as it is (the path s3rver always
 * gave it); undefined for a key that has to be stored by hash.
 */
export function pathSegments(key: string): { folders: string[]; name: string } | undefined {
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

export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** S3 orders keys by their bytes in UTF-8 (JavaScript's `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A path part percent-decoded as UTF-8; S3's InvalidURI when it is not. */
export function decodePathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: raw });
  }
}

export function checkKeyLength(key: string): void {
  const size = Buffer.byteLength(key);
  if (size > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', 'Your key is too long', {
      Size: size,
      MaxSizeAllowed: MAX_KEY_BYTES,
    });
  }
}

export function isBucketName(bucket: string): boolean {
  return BUCKET_NAME.test(bucket);
}

export function invalidBucketName(bucket: string): Error {
  return new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
}

export function noSuchUpload(uploadId: string): Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or ' +
      'completed.',
    { UploadId: uploadId },
  );
}

export function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}
