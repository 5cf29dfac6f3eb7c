/**
 * Caps on what one upload or one request can make the platform inflate, download or decode: the one place
 * they are set (docs/limits.md, "Decompression and images", says where each is enforced and what a user
 * sees). Sized against the functions' memory: Preprocess 3008 MB, RegisterDataset 1024 MB, Predict 1024 MB.
 */
import { DatasetValidationError } from './errors.ts';

const MiB = 1024 * 1024;

/**
 * Largest zip object a dataset may be, checked from its Content-Length before the body is read. RegisterDataset
 * and Preprocess hold the zip in memory (one buffer, no copy): 512 MiB leaves RegisterDataset's 1024 MB room for
 * the runtime and the central directory. Images inside a zip barely compress, so this is about the same as
 * {@link MAX_ZIP_UNCOMPRESSED_BYTES}.
 */
export const MAX_ZIP_OBJECT_BYTES = 512 * MiB;

/**
 * Most bytes a zip's images may inflate to, all entries together, counted as they are produced (declared sizes
 * can lie). Preprocess inflates an image when it reads it (a few at once), so this bounds the work a small zip can
 * cause more than the memory; RegisterDataset refuses a zip whose directory already declares more.
 */
export const MAX_ZIP_UNCOMPRESSED_BYTES = 512 * MiB;

/**
 * Most entries a zip's central directory may have (files and folders, including skipped ones): each costs a
 * record in memory and in the dataset's index. Checked from the directory's count before any entry is read.
 */
export const MAX_ZIP_ENTRIES = 100_000;

/**
 * Largest one image file may be: a zip entry as it inflates, or a folder image object (its listed size, then
 * its Content-Length). 32 MiB holds a 12-megapixel photo (≈ 5 MB as JPEG, ≈ 20 MB as PNG); training images
 * are resized to at most 512 a side anyway.
 */
export const MAX_IMAGE_FILE_BYTES = 32 * MiB;

/**
 * Most pixels (width × height) one image may declare, read from its header before it is decoded; above it the
 * bitmap is never allocated. 4096 × 4096 ≈ 16.8 M: a 12-megapixel phone photo (4032 × 3024) passes, and the
 * largest bitmap (RGBA, 16 bits a channel) is 128 MiB. Training data and predict requests alike.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/**
 * Most pixels all the images of one predict request may declare together, read from their headers before any
 * is decoded: four images at the per-image cap, or a thousand of 256 × 256. Decoding costs CPU by the pixel
 * (about 0.1 s a 4096 × 4096 image here), and a 10 MB body can hold hundreds of small PNGs that each declare
 * 16 M pixels of one colour: without this, one request could keep a function busy for seconds.
 */
export const MAX_REQUEST_PIXELS = 4 * MAX_IMAGE_PIXELS;

/**
 * Most bytes an image dataset may decode to (images × width × height × channels of its spec): Preprocess holds
 * them all, and writes each split as one base64 string, which V8 caps at about 512 M characters. 256 MiB is
 * 87,000 28×28 grayscale images or 21,000 at the default 64×64 RGB.
 */
export const MAX_DECODED_IMAGE_BYTES = 256 * MiB;

/** A dataset whose images would decode to more than MAX_DECODED_IMAGE_BYTES: refused before any is decoded. */
export function checkDecodedImages(images: number, bytesPerImage: number): void {
  const total = images * bytesPerImage;
  if (total > MAX_DECODED_IMAGE_BYTES) {
    throw new DatasetValidationError(
      `${images.toLocaleString('en-US')} images of ${formatBytes(bytesPerImage)} decoded are ${formatBytes(total)}, past ${formatBytes(MAX_DECODED_IMAGE_BYTES)} (the decoded-dataset cap): use fewer images or a smaller manifest "image" size`,
    );
  }
}

/** Bytes as a reader wants them: `512 MiB`, `40.5 MiB`, `900 KiB`, `12 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${trim(bytes / MiB)} MiB`;
  if (bytes >= 1024) return `${trim(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** A pixel count as a reader wants it: `16,777,216 = 4096×4096`. */
export function formatPixels(pixels: number): string {
  const side = Math.sqrt(pixels);
  const count = pixels.toLocaleString('en-US');
  return Number.isInteger(side) ? `${count} = ${side}×${side}` : count;
}

/** A cap on one object's size: refused from its Content-Length before its body is read, and as it arrives. */
export interface ObjectCap {
  readonly maxBytes: number;
  /** The error for an object found to be `bytes` long (or at least that long). */
  tooLarge(bytes: number): Error;
}

/**
 * Largest `datasets/<name>/dataset.json`: a manifest is a page of settings, and it travels in the pipeline's
 * state beside the schema (Step Functions holds 256 KB in all).
 */
export const MAX_MANIFEST_BYTES = 32 * 1024;

/** The cap on a dataset's manifest. */
export function manifestObjectCap(key: string): ObjectCap {
  return {
    maxBytes: MAX_MANIFEST_BYTES,
    tooLarge: (bytes) =>
      new DatasetValidationError(
        `${key} is ${formatBytes(bytes)}, past ${formatBytes(MAX_MANIFEST_BYTES)} (the manifest cap): a manifest holds settings, not data`,
      ),
  };
}

/** The cap on a dataset's zip object. */
export function zipObjectCap(key: string): ObjectCap {
  return {
    maxBytes: MAX_ZIP_OBJECT_BYTES,
    tooLarge: (bytes) =>
      new DatasetValidationError(
        `${key} is ${formatBytes(bytes)}, past ${formatBytes(MAX_ZIP_OBJECT_BYTES)} (the zip object cap)`,
      ),
  };
}

/** The cap on one image object of a folder dataset. */
export function imageObjectCap(key: string): ObjectCap {
  return {
    maxBytes: MAX_IMAGE_FILE_BYTES,
    tooLarge: (bytes) => imageFileTooLarge(key, bytes),
  };
}

/** An image file (a folder object) over {@link MAX_IMAGE_FILE_BYTES}. */
export function imageFileTooLarge(key: string, bytes: number): DatasetValidationError {
  return new DatasetValidationError(
    `image "${key}" is ${formatBytes(bytes)}, past ${formatBytes(MAX_IMAGE_FILE_BYTES)} (the per-image file cap)`,
  );
}
