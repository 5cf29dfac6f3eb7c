/**
 * The caps of bounded decompression and decoding (core/limits.ts) on the local platform: runs of zip bombs and
 * PNG bombs fail naming the cap or the lie, and the platform still answers; an object past its cap is never
 * read. The caps themselves: test/unit/zip-caps.test.ts and test/unit/image-caps.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getBytes } from '../../aws/object-store.ts';
import { imageObjectCap, MAX_IMAGE_FILE_BYTES } from '../../core/limits.ts';
import { blackPng, deflated, invalid, MiB, smallImages, zeroEntry, zip } from '../fixtures/bombs.ts';
import { localPlatformFixture } from '../helpers.ts';

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
