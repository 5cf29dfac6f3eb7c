/**
 * Bounded decompression (core/limits.ts): zip bombs and zips of too many entries are refused with the cap
 * named, before memory grows by anything near what they would inflate to; valid zips still work. The bombs
 * and the peak-memory probe: test/fixtures/bombs.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { decodeImage } from '../../core/image.ts';
import { openZipImages, zipImageItems } from '../../core/image-dataset.ts';
import { MAX_ZIP_ENTRIES } from '../../core/limits.ts';
import {
  deflated,
  invalid,
  MiB,
  peakMemory,
  smallImages,
  spec,
  stored,
  zeroEntry,
  zip,
} from '../fixtures/bombs.ts';

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
