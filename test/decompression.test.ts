/**
 * Bounded decompression and decoding (core/limits.ts): zip bombs, zips of too many entries and PNG bombs are
 * refused with the cap named, before memory grows by anything near what they would inflate or decode to; valid
 * zips and images still work. The bombs are built here in little memory (zeros deflated as a stream, ~1000:1),
 * and peak memory is measured in a fresh process (test/fixtures/peak-memory.ts), where nothing this process did
 * before can hide a rise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32, createDeflate, createDeflateRaw, deflateRawSync, deflateSync } from 'node:zlib';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { getBytes } from '../aws/object-store.ts';
import {
  DatasetValidationError,
  ImageTooLargeError,
  InvalidRequestError,
  PayloadTooLargeError,
} from '../core/errors.ts';
import {
  decodeImage,
  ImagePixelLimitError,
  parseImagePredictRequest,
  probeImage,
  requestImagesToInput,
} from '../core/image.ts';
import { openZipImages, zipImageItems } from '../core/image-dataset.ts';
import {
  imageObjectCap,
  MAX_IMAGE_FILE_BYTES,
  MAX_IMAGE_PIXELS,
  MAX_REQUEST_PIXELS,
  MAX_ZIP_ENTRIES,
} from '../core/limits.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { localPlatformFixture } from './helpers.ts';

const MiB = 1024 * 1024;
const spec = { width: 28, height: 28, channels: 1 } as const;
const invalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof DatasetValidationError && pattern.test(error.message);

// ---- zips, written byte by byte (fflate's zipSync cannot lie about sizes, write ZIP64 or data descriptors) ----

/** One zip entry: its bytes as stored (method 0) or raw-deflated (8), their CRC and uncompressed size. */
interface ZipFile {
  readonly name: string;
  readonly data: Uint8Array;
  readonly method: 0 | 8;
  readonly crc: number;
  readonly size: number;
  /** What the headers say the entry inflates to (default: `size`, the truth). */
  readonly declaredSize?: number;
  /** Sizes after the data, as streaming writers (macOS Finder, Java) put them; zero in the local header. */
  readonly dataDescriptor?: boolean;
}

function deflated(name: string, bytes: Uint8Array): ZipFile {
  return { name, data: deflateRawSync(bytes), method: 8, crc: crc32(bytes), size: bytes.byteLength };
}

function stored(name: string, bytes: Uint8Array): ZipFile {
  return { name, data: bytes, method: 0, crc: crc32(bytes), size: bytes.byteLength };
}

const zeroStreams = new Map<number, Promise<{ data: Uint8Array; crc: number }>>();

/** `size` zero bytes, raw-deflated at level 9 as a stream (600 MiB → ~600 KB, in ~1 MiB of memory). Memoized. */
function zeros(size: number): Promise<{ data: Uint8Array; crc: number }> {
  let found = zeroStreams.get(size);
  if (!found) {
    found = (async () => {
      const deflate = createDeflateRaw({ level: 9 });
      const out: Buffer[] = [];
      deflate.on('data', (chunk: Buffer) => out.push(chunk));
      const ended = new Promise((resolve) => deflate.on('end', resolve));
      const chunk = Buffer.alloc(MiB);
      let crc = 0;
      for (let left = size; left > 0; left -= MiB) {
        const part = chunk.subarray(0, Math.min(MiB, left));
        crc = crc32(part, crc);
        if (!deflate.write(part)) await new Promise((resolve) => deflate.once('drain', resolve));
      }
      deflate.end();
      await ended;
      return { data: Buffer.concat(out), crc };
    })();
    zeroStreams.set(size, found);
  }
  return found;
}

/** An entry of `size` zero bytes that declares `declaredSize` (default: the truth). */
async function zeroEntry(name: string, size: number, declaredSize = size): Promise<ZipFile> {
  return { name, ...(await zeros(size)), method: 8, size, declaredSize };
}

function zip(files: readonly ZipFile[], options: { zip64?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const directory: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const declared = file.declaredSize ?? file.size;
    const flags = 0x0800 | (file.dataDescriptor ? 0x0008 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(file.method, 8);
    local.writeUInt16LE(0x0021, 12); // 1980-01-01
    if (!file.dataDescriptor) {
      local.writeUInt32LE(file.crc, 14);
      local.writeUInt32LE(file.data.byteLength, 18);
      local.writeUInt32LE(declared, 22);
    }
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, file.data);
    let length = 30 + name.length + file.data.byteLength;
    if (file.dataDescriptor) {
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(file.crc, 4);
      descriptor.writeUInt32LE(file.data.byteLength, 8);
      descriptor.writeUInt32LE(declared, 12);
      parts.push(descriptor);
      length += 16;
    }
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(flags, 8);
    header.writeUInt16LE(file.method, 10);
    header.writeUInt16LE(0x0021, 14);
    header.writeUInt32LE(file.crc, 16);
    header.writeUInt32LE(file.data.byteLength, 20);
    header.writeUInt32LE(declared, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(offset, 42);
    directory.push(header, name);
    offset += length;
  }
  const central = Buffer.concat(directory);
  const count = files.length;
  const tail: Uint8Array[] = [];
  if (options.zip64 || count > 0xffff) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(central.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + central.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, central, ...tail, end]);
}

// ---- images ----

/** Ten distinct 28×28 grayscale PNGs, five in each of `shapes/cat/` and `shapes/dog/`. */
async function smallImages(): Promise<{ name: string; bytes: Uint8Array }[]> {
  return Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const raw = Buffer.alloc(28 * 28, 0);
      for (let p = 0; p < raw.length; p++) raw[p] = (p * (i + 3)) % 256;
      const bytes = await sharp(raw, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toBuffer();
      return { name: `shapes/${i % 2 ? 'dog' : 'cat'}/${i}.png`, bytes: new Uint8Array(bytes) };
    }),
  );
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.byteLength);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(width: number, height: number, channels: 1 | 4, interlaced: boolean, idat: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = channels === 4 ? 6 : 0;
  header[12] = interlaced ? 1 : 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A valid all-black PNG, its rows deflated as a stream: an interlaced (Adam7) one is decoded into a whole
 * bitmap at once, so 8000×8000 RGBA — a ~250 KB file — costs a decoder 256 MB.
 */
async function blackPng(
  width: number,
  height: number,
  options: { channels?: 1 | 4; interlaced?: boolean } = {},
): Promise<Buffer> {
  const channels = options.channels ?? 1;
  const passes = options.interlaced
    ? [
        [0, 0, 8, 8],
        [4, 0, 8, 8],
        [0, 4, 4, 8],
        [2, 0, 4, 4],
        [0, 2, 2, 4],
        [1, 0, 2, 2],
        [0, 1, 1, 2],
      ]
    : [[0, 0, 1, 1]];
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  const rows = Buffer.alloc((width * channels + 1) * 64); // filter byte 0 and black pixels
  for (const [x0 = 0, y0 = 0, dx = 1, dy = 1] of passes) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) continue;
    const rowBytes = passWidth * channels + 1;
    for (let y = 0; y < passHeight; y += 64) {
      const part = rows.subarray(0, rowBytes * Math.min(64, passHeight - y));
      if (!deflate.write(part)) await new Promise((resolve) => deflate.once('drain', resolve));
    }
  }
  deflate.end();
  await ended;
  return png(width, height, channels, options.interlaced ?? false, Buffer.concat(out));
}

/** A PNG whose header declares `width`×`height` and whose data is one black row: ~100 bytes. */
function declaredPng(width: number, height: number): Buffer {
  return png(width, height, 1, false, deflateSync(Buffer.alloc(width + 1)));
}

const predictBody = (...images: Uint8Array[]) =>
  JSON.stringify({ instances: images.map((image) => ({ b64: Buffer.from(image).toString('base64') })) });

// ---- peak memory, in a fresh process ----

const scratch = mkdtempSync(join(tmpdir(), 'nimbus-bombs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let probes = 0;

/** How much `operation` on `bytes` raised a fresh process's peak memory (test/fixtures/peak-memory.ts). */
async function peakMemory(
  operation: 'list' | 'read' | 'predict',
  bytes: Uint8Array,
): Promise<{ grewMb: number; error?: string }> {
  const file = join(scratch, `${operation}-${probes++}`);
  writeFileSync(file, bytes);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'test', 'fixtures', 'peak-memory.ts'), operation, file],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  return JSON.parse(stdout) as { grewMb: number; error?: string };
}

// ---- the tests ----

describe('zip datasets within the caps', () => {
  it('lists a zip from its directory alone: a 600 MiB entry is refused by the size it declares, nothing inflated', async (t) => {
    const images = await smallImages();
    const bomb = zip([
      ...images.map((image) => deflated(image.name, image.bytes)),
      await zeroEntry('shapes/cat/bomb.png', 600 * MiB),
    ]);
    assert.ok(bomb.byteLength < 2 * MiB, `the bomb is ${bomb.byteLength} bytes`);
    await assert.rejects(
      zipImageItems(bomb),
      invalid(/^zip entry "shapes\/cat\/bomb.png" declares 600 MiB, past 32 MiB \(the per-entry cap\)$/),
    );
    const { grewMb, error } = await peakMemory('list', bomb);
    assert.match(error ?? '', /declares 600 MiB/);
    t.diagnostic(`listing: peak memory +${grewMb.toFixed(0)} MB`);
    assert.ok(grewMb < 32, `listing a 600 MiB bomb raised the peak by ${grewMb.toFixed(0)} MB`);
  });

  it('counts what an entry really inflates to: one that declares 1 KiB and holds 600 MiB stops past its 1 KiB', async (t) => {
    const images = await smallImages();
    const liar = zip([
      ...images.map((image) => deflated(image.name, image.bytes)),
      await zeroEntry('shapes/cat/bomb.png', 600 * MiB, 1024),
    ]);
    assert.equal((await zipImageItems(liar)).items.length, 11, 'the headers pass the listing');
    const reader = await openZipImages(liar, 'datasets/liar/liar.zip');
    assert.equal((await reader.read('shapes/cat/0.png')).byteLength, images[0]?.bytes.byteLength);
    await assert.rejects(
      reader.read('shapes/cat/bomb.png'),
      invalid(/^zip entry "shapes\/cat\/bomb.png" inflates past the 1 KiB it declares$/),
    );
    const { grewMb, error } = await peakMemory('read', liar);
    assert.match(error ?? '', /inflates past the 1 KiB it declares/);
    t.diagnostic(`inflating past the declared size: peak memory +${grewMb.toFixed(0)} MB`);
    assert.ok(
      grewMb < 32,
      `inflating a 600 MiB entry that declares 1 KiB raised the peak by ${grewMb.toFixed(0)} MB`,
    );
  });

  it('stops at 512 MiB inflated over all entries, each under the per-entry cap, and refuses a zip that declares as much', async () => {
    const entries = await Promise.all(
      Array.from({ length: 20 }, (_, i) => zeroEntry(`c${i % 2}/${i}.png`, 30 * MiB)),
    );
    const many = zip(entries);
    const total = /^the zip inflates past 512 MiB \(the total uncompressed cap\) at entry "c[01]\/\d+.png"$/;
    const reader = await openZipImages(many, 'datasets/many/many.zip');
    let read = 0;
    await assert.rejects(
      (async () => {
        for (const entry of entries) {
          await reader.read(entry.name);
          read++;
        }
      })(),
      invalid(/^the zip inflates past 512 MiB \(the total uncompressed cap\) at entry "c1\/17.png"$/),
    );
    assert.equal(read, 17, '17 × 30 MiB fit under 512 MiB');

    // Reads that overlap each pass the declared-size check alone; what they produce together is counted.
    const overlapping = await openZipImages(many, 'datasets/many/many.zip');
    const results = await Promise.allSettled(entries.map((entry) => overlapping.read(entry.name)));
    const refused = results.filter((result) => result.status === 'rejected');
    assert.ok(refused.length >= 3, `${refused.length} of 20 overlapping reads refused`);
    for (const result of refused) assert.ok(invalid(total)(result.reason), String(result.reason));

    await assert.rejects(
      zipImageItems(many),
      invalid(
        /^the zip's images declare more than 512 MiB \(the total uncompressed cap\) by entry "c1\/17.png"$/,
      ),
    );
  });

  it('refuses a zip of more than 100,000 entries from its directory (ZIP64)', async () => {
    const empty = new Uint8Array();
    const files = Array.from({ length: MAX_ZIP_ENTRIES + 1 }, (_, i) => stored(`c${i % 2}/${i}.png`, empty));
    await assert.rejects(
      zipImageItems(zip(files)),
      invalid(/^the zip has 100,001 entries, past 100,000 \(the entry count cap\)$/),
    );
  });

  it('still reads a valid zip byte for byte: fflate, data descriptors, stored, ZIP64; skips macOS metadata', async () => {
    const images = await smallImages();
    const original = new Map(images.map((image) => [image.name, image.bytes]));
    const zips = {
      fflate: zipSync({
        ...Object.fromEntries(images.map((image) => [image.name, image.bytes])),
        '__MACOSX/shapes/cat/._0.png': new Uint8Array([1]),
      }),
      dataDescriptors: zip(
        images.map((image) => ({ ...deflated(image.name, image.bytes), dataDescriptor: true })),
      ),
      storedZip64: zip(
        images.map((image) => stored(image.name, image.bytes)),
        { zip64: true },
      ),
    };
    for (const [kind, bytes] of Object.entries(zips)) {
      const { items } = await zipImageItems(bytes);
      assert.deepEqual(
        items.map((item) => [item.source, item.label]),
        [...original.keys()].sort().map((name) => [name, name.split('/')[1]]),
        kind,
      );
      const reader = await openZipImages(bytes, `datasets/ok/${kind}.zip`);
      for (const item of items) {
        assert.deepEqual(
          Buffer.from(await reader.read(item.source)),
          Buffer.from(original.get(item.source) ?? []),
          kind,
        );
      }
      const first = items[0]?.source ?? '';
      assert.equal((await decodeImage(await reader.read(first), spec)).byteLength, 28 * 28, kind);
    }
  });

  it('refuses an entry compressed other than stored or deflate, a missing entry, and a file that is not a zip', async () => {
    const bzip = { ...stored('a/1.png', new Uint8Array([1, 2, 3])), method: 12 as 0 };
    const reader = await openZipImages(zip([bzip]), 'datasets/x/x.zip');
    await assert.rejects(reader.read('a/1.png'), invalid(/zip entry "a\/1.png" uses compression method 12/));
    await assert.rejects(reader.read('a/2.png'), invalid(/^a\/2.png is not in datasets\/x\/x.zip$/));
    await assert.rejects(zipImageItems(new Uint8Array([1, 2, 3])), invalid(/not a readable zip/));
  });
});

describe('images within the pixel cap', () => {
  it('predict: a PNG that declares 8000×8000 is a 400 naming its instance, and its bitmap is never allocated', async (t) => {
    const bomb = await blackPng(8000, 8000, { channels: 4, interlaced: true });
    assert.ok(bomb.byteLength < MiB, `the PNG is ${bomb.byteLength} bytes; its bitmap 256 MB`);
    const body = predictBody(await blackPng(28, 28), bomb);
    await assert.rejects(
      requestImagesToInput(await parseImagePredictRequest(body, 10), spec),
      (error: unknown) =>
        error instanceof ImageTooLargeError &&
        error instanceof InvalidRequestError &&
        error.field === 'b64' &&
        error.instance === 1 &&
        /^instances\[1\]\.b64 is an image of 8000×8000 pixels \(64,000,000\), past 16,777,216 = 4096×4096 \(the per-image pixel cap\)$/.test(
          error.message,
        ),
    );
    const { grewMb, error } = await peakMemory('predict', bomb);
    assert.match(error ?? '', /the per-image pixel cap/);
    t.diagnostic(`refusing the PNG: peak memory +${grewMb.toFixed(0)} MB`);
    assert.ok(grewMb < 64, `refusing a 256 MB bitmap raised the peak by ${grewMb.toFixed(0)} MB`);
  });

  it('predict: bounds the pixels of a whole request from the headers, before decoding any image', async () => {
    // Each within the per-image cap; five of them past what one request may hold (4 × 4096×4096).
    const images = Array.from({ length: 160 }, () => declaredPng(4096, 4096));
    await assert.rejects(
      requestImagesToInput(await parseImagePredictRequest(predictBody(...images), 1000), spec),
      (error: unknown) =>
        error instanceof PayloadTooLargeError &&
        error.instance === 4 &&
        /declare 83,886,080 pixels; one request may hold at most 67,108,864 = 8192×8192/.test(error.message),
    );
    assert.equal(MAX_REQUEST_PIXELS, 4 * MAX_IMAGE_PIXELS);
  });

  it('reads the size from the header: 30000×30000 with one row of data is refused the same way', async () => {
    await assert.rejects(
      requestImagesToInput(await parseImagePredictRequest(predictBody(declaredPng(30000, 30000)), 1), spec),
      (error: unknown) => error instanceof ImageTooLargeError && /30000×30000 pixels/.test(error.message),
    );
  });

  it('decodes an image at the cap (4096×4096) and refuses one a column wider', async () => {
    const atCap = await blackPng(4096, 4096);
    const x = await requestImagesToInput(await parseImagePredictRequest(predictBody(atCap), 1), spec);
    assert.equal(x.length, 28 * 28);
    assert.equal(MAX_IMAGE_PIXELS, 4096 * 4096);
    await assert.rejects(probeImage(declaredPng(4097, 4096)), ImagePixelLimitError);
  });

  it('preprocessing: probing and decoding an over-cap image refuse it with its size, undecodable bytes stay undecodable', async () => {
    const bomb = await blackPng(8000, 8000, { channels: 4, interlaced: true });
    for (const attempt of [probeImage(bomb), decodeImage(bomb, spec)]) {
      await assert.rejects(
        attempt,
        (error: unknown) =>
          error instanceof ImagePixelLimitError && error.width === 8000 && error.height === 8000,
      );
    }
    await assert.rejects(
      decodeImage(new Uint8Array([1, 2, 3]), spec),
      (error: Error) =>
        !(error instanceof ImagePixelLimitError) && /not a PNG or JPEG image/.test(error.message),
    );
  });
});

describe('caps on the local platform, end to end', () => {
  const local = localPlatformFixture();

  it('fails runs of a zip bomb (at registration), a lying zip bomb and a PNG bomb (at preprocessing), naming the cap or the lie; the platform still answers', async () => {
    const { client } = local;
    const images = (await smallImages()).map((image) => deflated(image.name, image.bytes));
    const uploads = {
      bomb: zip([...images, await zeroEntry('shapes/cat/bomb.png', 600 * MiB)]),
      liar: zip([...images, await zeroEntry('shapes/cat/bomb.png', 600 * MiB, 1024)]),
      pixels: zip([
        ...images,
        deflated('shapes/cat/big.png', await blackPng(8000, 8000, { channels: 4, interlaced: true })),
      ]),
    };
    for (const [name, bytes] of Object.entries(uploads))
      await client.upload(`datasets/${name}/${name}.zip`, bytes);
    const reason = async (name: string) => {
      const [run] = await client.waitForRuns(name, 1);
      assert.equal(run?.status, 'FAILED', `${name}: ${run?.reason}`);
      return run.reason ?? '';
    };
    assert.match(
      await reason('bomb'),
      /DatasetValidationError: zip entry "shapes\/cat\/bomb.png" declares 600 MiB, past 32 MiB \(the per-entry cap\)/,
    );
    assert.match(
      await reason('liar'),
      /DatasetValidationError: zip entry "shapes\/cat\/bomb.png" inflates past the 1 KiB it declares/,
    );
    assert.match(
      await reason('pixels'),
      /DatasetValidationError: image "shapes\/cat\/big.png" is 8000×8000 pixels \(64,000,000\), past 16,777,216 = 4096×4096 \(the per-image pixel cap\)/,
    );
    const [version] = await client.datasetVersions('bomb');
    assert.equal(version?.status, 'INVALID');
    const { datasets } = await client.registryJson<{ datasets: { name: string }[] }>('/datasets');
    assert.deepEqual(
      datasets.map((d) => d.name).filter((name) => name in uploads),
      ['bomb', 'liar', 'pixels'],
    );
  });

  it('refuses a folder image over 32 MiB by its listed size, and reads no object past its cap', async () => {
    const { client, platform } = local;
    const key = 'datasets/folder/cat/huge.png';
    for (const image of await smallImages()) {
      await client.upload(image.name.replace('shapes/', 'datasets/folder/'), image.bytes);
    }
    await client.upload(key, Buffer.alloc(MAX_IMAGE_FILE_BYTES + MiB));
    await client.upload('datasets/folder/_SUCCESS', '');
    const [run] = await client.waitForRuns('folder', 1);
    assert.equal(run?.status, 'FAILED');
    assert.match(
      run.reason ?? '',
      /image "datasets\/folder\/cat\/huge.png" is 33 MiB, past 32 MiB \(the per-image file cap\)/,
    );

    // Refused from the Content-Length, before the body: the whole size is known (a count would stop at 32 MiB).
    const bucket = platform.endpoints.datasetsBucket;
    await assert.rejects(
      getBytes(bucket, key, imageObjectCap(key)),
      invalid(/^image "datasets\/folder\/cat\/huge.png" is 33 MiB, past 32 MiB \(the per-image file cap\)$/),
    );
    const small = await getBytes(
      bucket,
      'datasets/folder/cat/0.png',
      imageObjectCap('datasets/folder/cat/0.png'),
    );
    assert.ok(small.byteLength > 0 && small.byteLength < MAX_IMAGE_FILE_BYTES);
  });
});
