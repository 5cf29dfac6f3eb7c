/**
 * Reading a dataset's zip within the caps of limits.ts, with yauzl (end of central directory, ZIP64, the
 * directory, local headers, names). Opening reads the entry count and refuses more than
 * {@link MAX_ZIP_ENTRIES} before any entry is read, then the entries (names, methods, declared sizes),
 * inflating nothing. An entry is inflated only when asked for, as a stream of small chunks (zlib's 16 KiB),
 * and what it produces is bounded three ways, whatever the headers claim:
 * - its declared size is checked first, against {@link MAX_IMAGE_FILE_BYTES} and what is left of
 *   {@link MAX_ZIP_UNCOMPRESSED_BYTES};
 * - yauzl's `validateEntrySizes` errors the stream as soon as it produces a byte more than declared (or ends
 *   short), so a header that lies stops the entry at the size it declares;
 * - the chunks are counted as they come, against the per-entry cap and, over all entries, the total cap, and
 *   the stream is destroyed at a cap. Reads may overlap (Preprocess decodes several images at once): the total
 *   counts what they produce together, which the declared sizes, checked one read at a time, cannot see.
 */
import { type Entry, fromBufferPromise, type ZipFile } from 'yauzl';
import { DatasetValidationError } from './errors.ts';
import { formatBytes, MAX_IMAGE_FILE_BYTES, MAX_ZIP_ENTRIES, MAX_ZIP_UNCOMPRESSED_BYTES } from './limits.ts';

/**
 * The entries of a zip's directory, one at a time and none kept (names, methods, declared sizes; nothing is
 * inflated); more than {@link MAX_ZIP_ENTRIES} is refused from the count, before any entry is read.
 */
export async function* zipEntries(zip: Uint8Array): AsyncGenerator<Entry> {
  yield* directory(await openZip(zip));
}

/**
 * A zip held in memory: its directory read at once (entry count capped), entries inflated on demand and
 * counted against the per-entry and total caps. An entry read twice counts once toward the total.
 */
export class ZipArchive {
  private readonly byName = new Map<string, Entry>();
  private readonly counted = new Set<string>();
  private inflated = 0;

  private constructor(private readonly zip: ZipFile) {}

  /** Reads the zip's directory; `zip` is not copied. */
  static async open(zip: Uint8Array): Promise<ZipArchive> {
    const archive = new ZipArchive(await openZip(zip));
    for await (const entry of directory(archive.zip)) archive.byName.set(entry.fileName, entry);
    return archive;
  }

  get entries(): IterableIterator<Entry> {
    return this.byName.values();
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The bytes of one entry, inflated within the caps. */
  async read(name: string): Promise<Uint8Array> {
    const entry = this.byName.get(name);
    if (!entry) throw new DatasetValidationError(`zip entry "${name}" is not in the zip`);
    if (entry.isEncrypted()) throw new DatasetValidationError(`zip entry "${name}" is encrypted`);
    const method = entry.compressionMethod;
    if (method !== 0 && method !== 8) {
      throw new DatasetValidationError(
        `zip entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) are read`,
      );
    }
    const declared = entry.uncompressedSize;
    if (declared > MAX_IMAGE_FILE_BYTES) throw entryDeclaresTooMuch(name, declared);
    const counts = !this.counted.has(name);
    if (counts && this.inflated + declared > MAX_ZIP_UNCOMPRESSED_BYTES) throw pastTotal(name);
    this.counted.add(name);
    const chunks: Buffer[] = [];
    let produced = 0;
    try {
      // Leaving the loop by a throw destroys the stream.
      for await (const chunk of await this.zip.openReadStreamPromise(entry)) {
        const bytes = chunk as Buffer;
        produced += bytes.byteLength;
        if (produced > MAX_IMAGE_FILE_BYTES) {
          throw new DatasetValidationError(
            `zip entry "${name}" inflates past ${formatBytes(MAX_IMAGE_FILE_BYTES)} (the per-entry cap)`,
          );
        }
        if (counts) {
          this.inflated += bytes.byteLength;
          if (this.inflated > MAX_ZIP_UNCOMPRESSED_BYTES) throw pastTotal(name);
        }
        chunks.push(bytes);
      }
    } catch (error) {
      if (error instanceof DatasetValidationError) throw error;
      const message = (error as Error).message;
      // validateEntrySizes' error, told the way a user can act on it (any other message stays yauzl's).
      if (message.startsWith('too many bytes in the stream')) {
        throw new DatasetValidationError(
          `zip entry "${name}" inflates past the ${formatBytes(declared)} it declares`,
        );
      }
      throw unreadable(`"${name}" cannot be read: ${message}`);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, produced);
  }
}

/** Opens a zip from its end-of-central-directory record (ZIP64 included), refusing too many entries. */
async function openZip(zip: Uint8Array): Promise<ZipFile> {
  // Not a copy: a view of the same bytes.
  const buffer = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  // Backslashes read as slashes (strictFileNames off): old Windows tools wrote folders that way. yauzl still
  // refuses absolute paths and `..`.
  const file = await fromBufferPromise(buffer, {
    lazyEntries: true,
    validateEntrySizes: true,
    strictFileNames: false,
    decodeStrings: true,
  }).catch((error: unknown) => {
    throw unreadable((error as Error).message);
  });
  if (file.entryCount > MAX_ZIP_ENTRIES) {
    throw new DatasetValidationError(
      `the zip has ${file.entryCount.toLocaleString('en-US')} entries, past ${MAX_ZIP_ENTRIES.toLocaleString('en-US')} (the entry count cap)`,
    );
  }
  return file;
}

async function* directory(file: ZipFile): AsyncGenerator<Entry> {
  try {
    for await (const entry of file.eachEntry()) yield entry;
  } catch (error) {
    throw unreadable((error as Error).message);
  }
}

/** An entry whose directory record declares more than {@link MAX_IMAGE_FILE_BYTES}. */
export function entryDeclaresTooMuch(name: string, declared: number): DatasetValidationError {
  return new DatasetValidationError(
    `zip entry "${name}" declares ${formatBytes(declared)}, past ${formatBytes(MAX_IMAGE_FILE_BYTES)} (the per-entry cap)`,
  );
}

function pastTotal(name: string): DatasetValidationError {
  return new DatasetValidationError(
    `the zip inflates past ${formatBytes(MAX_ZIP_UNCOMPRESSED_BYTES)} (the total uncompressed cap) at entry "${name}"`,
  );
}

function unreadable(why: string): DatasetValidationError {
  return new DatasetValidationError(`the file is not a readable zip: ${why}`);
}
