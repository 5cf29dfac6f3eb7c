/**
 * Image datasets: a folder of class-named folders of PNG/JPEG files (closed by a `_SUCCESS` marker) or one
 * zip of such folders. Listing, classes, validation and the version hash; reading a zip within the caps is in
 * zip.ts, decoding in image.ts.
 */
import { createHash } from 'node:crypto';
import { ALEXNET_MIN_SIDE } from './alexnet.ts';
import { type ImageSpec, MIN_ROWS, MIN_ROWS_PER_CLASS } from './dataset.ts';
import { DatasetValidationError } from './errors.ts';
import { IMAGE_ARCHITECTURES, type ImageArchitecture } from './hyperparameters.ts';
import {
  formatBytes,
  imageFileTooLarge,
  MAX_IMAGE_FILE_BYTES,
  MAX_ZIP_ENTRIES,
  MAX_ZIP_UNCOMPRESSED_BYTES,
} from './limits.ts';
import { entryDeclaresTooMuch, ZipArchive, zipEntries } from './zip.ts';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** The largest side a default spec uses; a manifest can ask for more. */
export const DEFAULT_MAX_SIDE = 64;
const MAX_SIDE = 512;

/** One image of a dataset: where its bytes are (an S3 key, or a path inside the zip) and its class. */
export interface ImageItem {
  readonly source: string;
  readonly label: string;
  /** The S3 ETag of a folder image: a changed file is a changed dataset version. */
  readonly etag?: string;
  /** The listed size of a folder image, in bytes. */
  readonly size?: number;
}

/** `versions/<name>/<version>.json` for an image dataset: the exact files of the version. */
export interface ImageDatasetIndex {
  readonly kind: 'image';
  readonly format: 'folder' | 'zip';
  /** The zip's key (format `zip`). */
  readonly key?: string;
  readonly items: readonly ImageItem[];
}

export interface ImageDatasetSchema {
  readonly kind: 'image';
  readonly task: 'classification';
  readonly format: 'folder' | 'zip';
  readonly classes: readonly string[];
  /** Images per class. */
  readonly counts: Readonly<Record<string, number>>;
  readonly imageCount: number;
}

export interface ListedObject {
  readonly key: string;
  readonly etag?: string;
  readonly size?: number;
}

/** Files next to the class folders that are not images of the dataset. */
const CONTROL_FILES = new Set(['_SUCCESS', 'dataset.json']);

/**
 * The images of a folder dataset from a listing of `prefix` (`datasets/<name>/`): `<class>/<file>` keys.
 * Non-image files inside class folders are findings; control files at the top (`_SUCCESS`, the manifest) and
 * other top-level files (a CSV has its own run) are not part of it.
 */
export function folderImageItems(
  prefix: string,
  objects: readonly ListedObject[],
): { items: ImageItem[]; strays: string[] } {
  const items: ImageItem[] = [];
  const strays: string[] = [];
  for (const object of objects) {
    const path = object.key.slice(prefix.length);
    const slash = path.indexOf('/');
    if (slash < 0 || CONTROL_FILES.has(path)) continue;
    if (path.endsWith('/')) continue;
    if (!isImageFile(path)) {
      strays.push(path);
      continue;
    }
    items.push({
      source: object.key,
      label: path.slice(0, slash),
      ...(object.etag ? { etag: object.etag } : {}),
      size: object.size,
    });
  }
  items.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  return { items, strays };
}

/** Zip entries that are not part of a dataset: macOS metadata and dotfiles. */
function isSkippedZipEntry(name: string): boolean {
  return name.startsWith('__MACOSX/') || name.split('/').some((part) => part.startsWith('.'));
}

/**
 * The images of a zip, from its central directory alone (nothing is inflated): each image's class is its
 * parent folder (`digits/7/a.png` → `7`), so a zip of the class folders and a zip of one folder holding them
 * both work. macOS metadata and dotfiles are skipped. Refused here, before anything is read: more entries than
 * {@link MAX_ZIP_ENTRIES}, an image that declares more than {@link MAX_IMAGE_FILE_BYTES} or images that
 * declare more than {@link MAX_ZIP_UNCOMPRESSED_BYTES} together (what they really inflate to is counted when
 * Preprocess reads them: {@link openZipImages}).
 */
export async function zipImageItems(zip: Uint8Array): Promise<{ items: ImageItem[] }> {
  const items = new Map<string, ImageItem>();
  const loose: string[] = [];
  let declared = 0;
  for await (const entry of zipEntries(zip)) {
    const path = entry.fileName;
    if (isSkippedZipEntry(path) || path.endsWith('/') || !isImageFile(path)) continue;
    const parts = path.split('/');
    const label = parts[parts.length - 2];
    if (!label) {
      loose.push(path);
      continue;
    }
    if (entry.uncompressedSize > MAX_IMAGE_FILE_BYTES)
      throw entryDeclaresTooMuch(path, entry.uncompressedSize);
    declared += entry.uncompressedSize;
    if (declared > MAX_ZIP_UNCOMPRESSED_BYTES) {
      throw new DatasetValidationError(
        `the zip's images declare more than ${formatBytes(MAX_ZIP_UNCOMPRESSED_BYTES)} (the total uncompressed cap) by entry "${path}"`,
      );
    }
    items.set(path, { source: path, label });
  }
  if (loose.length > 0) {
    throw new DatasetValidationError(
      `${loose.length} image(s) are not in a class folder: ${loose.slice(0, 10).join(', ')}`,
      loose,
    );
  }
  return {
    items: [...items.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)),
  };
}

/**
 * A zip dataset's images for Preprocess: `read(source)` inflates one image when it is needed, within the
 * per-entry cap and, over all reads, the total uncompressed cap; the zip's bytes are all that stays in memory.
 */
export async function openZipImages(
  zip: Uint8Array,
  key: string,
): Promise<{ read(source: string): Promise<Uint8Array> }> {
  const archive = await ZipArchive.open(zip);
  return {
    async read(source) {
      if (!archive.has(source)) throw new DatasetValidationError(`${source} is not in ${key}`);
      return archive.read(source);
    },
  };
}

/**
 * Checks the images can train a classifier: at least two classes, enough images in each, no folder image
 * listed larger than {@link MAX_IMAGE_FILE_BYTES}.
 */
export function imageDatasetSchema(
  format: 'folder' | 'zip',
  items: readonly ImageItem[],
  strays: readonly string[] = [],
): ImageDatasetSchema {
  // By Map, then as an object built from entries: a class folder named "__proto__" is a class like another.
  const byClass = new Map<string, number>();
  for (const item of items) byClass.set(item.label, (byClass.get(item.label) ?? 0) + 1);
  const counts: Record<string, number> = Object.fromEntries(byClass);
  const classes = [...byClass.keys()].sort();
  const findings: string[] = [];
  if (strays.length > 0) {
    findings.push(
      `${strays.length} file(s) in class folders are not PNG or JPEG images: ${strays.slice(0, 10).join(', ')}`,
    );
  }
  const oversized = items.filter((item) => (item.size ?? 0) > MAX_IMAGE_FILE_BYTES);
  for (const item of oversized.slice(0, 10)) {
    findings.push(imageFileTooLarge(item.source, item.size ?? 0).message);
  }
  if (oversized.length > 10)
    findings.push(`and ${oversized.length - 10} more image(s) past the per-image file cap`);
  if (items.length === 0) {
    findings.push('no PNG or JPEG images in class folders (<class>/<image>.png)');
  } else {
    if (classes.length < 2)
      findings.push(`the images are in ${classes.length} class folder; a classifier needs at least 2`);
    if (items.length < MIN_ROWS)
      findings.push(`the dataset has ${items.length} images; at least ${MIN_ROWS} are needed`);
    const rare = classes.filter((c) => (counts[c] ?? 0) < MIN_ROWS_PER_CLASS);
    if (rare.length > 0) {
      findings.push(
        `class folder(s) ${rare.map((c) => `"${c}" (${counts[c]} images)`).join(', ')} have fewer than ${MIN_ROWS_PER_CLASS} images`,
      );
    }
  }
  if (findings.length > 0) throw new DatasetValidationError(findings.join('; '), findings);
  return { kind: 'image', task: 'classification', format, classes, counts, imageCount: items.length };
}

/** The content hash of a folder dataset: its files' keys and ETags, so the same upload is the same version. */
export function folderHash(items: readonly ImageItem[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(`${item.source}\t${item.etag ?? ''}\n`);
  return hash.digest('hex');
}

/** The spec for a dataset whose manifest names none: the first image's size (at most 64 a side) and colour. */
export function defaultImageSpec(probe: { width: number; height: number; channels: number }): ImageSpec {
  const scale = Math.min(1, DEFAULT_MAX_SIDE / Math.max(probe.width, probe.height, 1));
  return {
    width: Math.max(1, Math.round(probe.width * scale)),
    height: Math.max(1, Math.round(probe.height * scale)),
    channels: probe.channels <= 2 ? 1 : 3,
  };
}

/** Validates the manifest's `image` object. */
export function parseImageSpec(value: unknown): ImageSpec {
  const spec = value as Partial<Record<keyof ImageSpec, unknown>> | null;
  const side = (name: 'width' | 'height') => {
    const v = spec?.[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
      throw new DatasetValidationError(`manifest image.${name} must be an integer from 1 to ${MAX_SIDE}`);
    }
    return v;
  };
  if (typeof spec !== 'object' || spec === null) {
    throw new DatasetValidationError('manifest "image" must be an object {width, height, channels}');
  }
  const channels = spec.channels ?? 3;
  if (channels !== 1 && channels !== 3)
    throw new DatasetValidationError('manifest image.channels must be 1 or 3');
  const { architecture } = spec;
  if (architecture !== undefined && !IMAGE_ARCHITECTURES.includes(architecture as ImageArchitecture)) {
    throw new DatasetValidationError(
      `manifest image.architecture must be one of ${IMAGE_ARCHITECTURES.join(', ')}`,
    );
  }
  const parsed = { width: side('width'), height: side('height'), channels } as const;
  if (
    architecture === 'alexnet' &&
    (channels !== 3 || Math.min(parsed.width, parsed.height) < ALEXNET_MIN_SIDE)
  ) {
    throw new DatasetValidationError(
      `manifest image.architecture alexnet takes RGB images of at least ${ALEXNET_MIN_SIDE}×${ALEXNET_MIN_SIDE} ` +
        `(image.channels 3); this one is ${parsed.width}×${parsed.height}×${channels}`,
    );
  }
  return {
    ...parsed,
    ...(architecture === undefined ? {} : { architecture: architecture as ImageArchitecture }),
  };
}
