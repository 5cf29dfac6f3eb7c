/**
 * Bounded decoding (core/limits.ts): PNG bombs are refused with the pixel cap named, from their headers, before
 * memory grows by anything near what they would decode to; images at the cap still work. The bombs and the
 * peak-memory probe: test/fixtures/bombs.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTooLargeError, InvalidRequestError, PayloadTooLargeError } from '../../core/errors.ts';
import {
  decodeImage,
  ImagePixelLimitError,
  parseImagePredictRequest,
  probeImage,
  requestImagesToInput,
} from '../../core/image.ts';
import { MAX_IMAGE_PIXELS, MAX_REQUEST_PIXELS } from '../../core/limits.ts';
import { blackPng, declaredPng, MiB, peakMemory, predictBody, spec } from '../fixtures/bombs.ts';

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
    // Each started only when it is awaited: a rejection nothing awaits yet would fail the run on a busy machine.
    for (const attempt of [() => probeImage(bomb), () => decodeImage(bomb, spec)]) {
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
