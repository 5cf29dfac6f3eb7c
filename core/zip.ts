/**
 * Reading a dataset's zip within the caps of limits.ts. The central directory is read without inflating
 * anything (names, methods, declared sizes); an entry is inflated only when asked for, by fflate's streaming
 * `Inflate` fed a few KiB of compressed bytes at a time, and the bytes it actually produces are counted as they
 * come — an entry stops at {@link MAX_IMAGE_FILE_BYTES}, all entries together at
 * {@link MAX_ZIP_UNCOMPRESSED_BYTES}, whatever the headers declare.
 *
 * Why not `unzipSync`: it inflates every entry into a buffer of its declared size at once. Why not fflate's
 * `Unzip` stream: it hands each pushed chunk to the inflater whole (one push of the zip inflates an entry
 * completely before the first `ondata`), it finds the end of an entry written with a data descriptor (macOS
 * Finder, Java) by scanning its compressed bytes for a signature, and it can only read the zip front to back;
 * the central directory knows every entry's real compressed size and where it starts.
 */
import { Inflate, strFromU8 } from 'fflate';
import { DatasetValidationError } from './errors.ts';
import { formatBytes, MAX_IMAGE_FILE_BYTES, MAX_ZIP_ENTRIES, MAX_ZIP_UNCOMPRESSED_BYTES } from './limits.ts';

/** One entry of a zip's central directory. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate; others are refused when read. */
  readonly method: number;
  readonly encrypted: boolean;
  readonly compressedSize: number;
  /** The uncompressed size the directory declares: a claim, not a bound. */
  readonly declaredSize: number;
  /** Where the entry's local header starts. */
  readonly offset: number;
}

/**
 * Deflate expands at most 1032:1 (a 258-byte match in two 1-bit codes). The inflater is given, a step at a
 * time, the compressed bytes that cannot produce more than the room left under the caps (at least 4 KiB, at
 * most 1 MiB), so it stops at most ~4 MiB past a cap, having produced it in steps the count sees.
 */
const MAX_RATIO = 1032;
const MIN_STEP = 4 * 1024;
const MAX_STEP = 1024 * 1024;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const SATURATED = 0xffffffff;

/**
 * A zip held in memory: its directory read at once (entry count capped), entries inflated on demand and
 * counted against the per-entry and total caps. An entry read twice counts once toward the total.
 */
export class ZipArchive {
  readonly entries: readonly ZipEntry[];
  private readonly byName = new Map<string, ZipEntry>();
  private readonly view: DataView;
  private readonly counted = new Set<string>();
  private inflated = 0;

  constructor(private readonly zip: Uint8Array) {
    this.view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    this.entries = this.readDirectory();
    for (const entry of this.entries) this.byName.set(entry.name, entry);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The bytes of one entry, inflated within the caps. */
  read(name: string): Uint8Array {
    const entry = this.byName.get(name);
    if (!entry) throw new DatasetValidationError(`zip entry "${name}" is not in the zip`);
    if (entry.encrypted) throw new DatasetValidationError(`zip entry "${name}" is encrypted`);
    const data = this.data(entry);
    const counted = this.counted.has(name);
    const room = Math.min(
      MAX_IMAGE_FILE_BYTES,
      counted ? Infinity : MAX_ZIP_UNCOMPRESSED_BYTES - this.inflated,
    );
    const check = (produced: number) => {
      if (produced > MAX_IMAGE_FILE_BYTES) {
        throw new DatasetValidationError(
          `zip entry "${name}" inflates past ${formatBytes(MAX_IMAGE_FILE_BYTES)} (the per-entry cap)`,
        );
      }
      if (!counted && this.inflated + produced > MAX_ZIP_UNCOMPRESSED_BYTES) {
        throw new DatasetValidationError(
          `the zip inflates past ${formatBytes(MAX_ZIP_UNCOMPRESSED_BYTES)} (the total uncompressed cap) at entry "${name}"`,
        );
      }
    };
    let bytes: Uint8Array;
    if (entry.method === 0) {
      check(data.byteLength);
      bytes = data;
    } else if (entry.method === 8) {
      bytes = inflate(data, name, room, check);
    } else {
      throw new DatasetValidationError(
        `zip entry "${name}" uses compression method ${entry.method}; only stored (0) and deflate (8) are read`,
      );
    }
    if (!counted) {
      this.counted.add(name);
      this.inflated += bytes.byteLength;
    }
    return bytes;
  }

  /** The entry's compressed bytes, found through its local header. */
  private data(entry: ZipEntry): Uint8Array {
    const at = entry.offset;
    if (at + 30 > this.zip.byteLength || this.u32(at) !== LOCAL) {
      throw unreadable(`the local header of "${entry.name}" is missing`);
    }
    const start = at + 30 + this.u16(at + 26) + this.u16(at + 28);
    const end = start + entry.compressedSize;
    if (end > this.zip.byteLength) throw unreadable(`"${entry.name}" runs past the end of the file`);
    return this.zip.subarray(start, end);
  }

  /** The central directory, from the end-of-central-directory record (ZIP64 when it says so). */
  private readDirectory(): ZipEntry[] {
    const length = this.zip.byteLength;
    let eocd = -1;
    for (let at = length - 22; at >= Math.max(0, length - 22 - 0xffff); at--) {
      if (this.u32(at) === EOCD) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw unreadable('no end of central directory record');
    let count = this.u16(eocd + 10);
    let offset = this.u32(eocd + 16);
    if (eocd >= 20 && this.u32(eocd - 20) === ZIP64_LOCATOR) {
      const at = this.u64(eocd - 12);
      if (at + 56 > length || this.u32(at) !== ZIP64_EOCD) throw unreadable('the ZIP64 record is missing');
      count = this.u64(at + 32);
      offset = this.u64(at + 48);
    }
    if (count > MAX_ZIP_ENTRIES) {
      throw new DatasetValidationError(
        `the zip has ${count.toLocaleString('en-US')} entries, past ${MAX_ZIP_ENTRIES.toLocaleString('en-US')} (the entry count cap)`,
      );
    }
    const entries: ZipEntry[] = [];
    let at = offset;
    for (let i = 0; i < count; i++) {
      if (at + 46 > length || this.u32(at) !== CENTRAL)
        throw unreadable(`directory entry ${i + 1} is damaged`);
      const flags = this.u16(at + 8);
      const nameLength = this.u16(at + 28);
      const extraLength = this.u16(at + 30);
      const next = at + 46 + nameLength + extraLength + this.u16(at + 32);
      if (next > length) throw unreadable(`directory entry ${i + 1} runs past the end of the file`);
      let declaredSize = this.u32(at + 24);
      let compressedSize = this.u32(at + 20);
      let local = this.u32(at + 42);
      if (declaredSize === SATURATED || compressedSize === SATURATED || local === SATURATED) {
        // The ZIP64 extra field holds, in this order, the values the header left at 0xFFFFFFFF.
        let field = this.extraField(at + 46 + nameLength, extraLength, 0x0001);
        const take = (value: number) => {
          if (value !== SATURATED) return value;
          if (field === undefined || field + 8 > next)
            throw unreadable(`directory entry ${i + 1} lacks ZIP64 sizes`);
          const wide = this.u64(field);
          field += 8;
          return wide;
        };
        declaredSize = take(declaredSize);
        compressedSize = take(compressedSize);
        local = take(local);
      }
      entries.push({
        name: strFromU8(this.zip.subarray(at + 46, at + 46 + nameLength), (flags & 0x0800) === 0),
        method: this.u16(at + 10),
        encrypted: (flags & 0x0001) !== 0,
        compressedSize,
        declaredSize,
        offset: local,
      });
      at = next;
    }
    return entries;
  }

  /** Where the data of extra field `id` starts, within `length` bytes of extra fields at `at`. */
  private extraField(at: number, length: number, id: number): number | undefined {
    for (let p = at; p + 4 <= at + length; p += 4 + this.u16(p + 2)) {
      if (this.u16(p) === id) return p + 4;
    }
    return undefined;
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    return Number(this.view.getBigUint64(at, true));
  }
}

/**
 * Inflates raw deflate bytes a step at a time, each step sized to `room` (the bytes it may still produce);
 * `check` sees the running output size and throws to stop.
 */
function inflate(
  data: Uint8Array,
  name: string,
  room: number,
  check: (produced: number) => void,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let produced = 0;
  const inflater = new Inflate((chunk) => {
    produced += chunk.byteLength;
    check(produced);
    chunks.push(chunk);
  });
  try {
    if (data.byteLength === 0) return new Uint8Array();
    for (let at = 0; at < data.byteLength; ) {
      const step = Math.min(MAX_STEP, Math.max(MIN_STEP, Math.floor((room - produced) / MAX_RATIO)));
      inflater.push(data.subarray(at, at + step), at + step >= data.byteLength);
      at += step;
    }
  } catch (error) {
    if (error instanceof DatasetValidationError) throw error;
    throw unreadable(`"${name}" does not inflate: ${(error as Error).message}`);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(produced);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function unreadable(why: string): DatasetValidationError {
  return new DatasetValidationError(`the file is not a readable zip: ${why}`);
}
