/**
 * Image decoding with sharp: `decodeImage` (here) + `imageInput` (preprocess.ts) are the one path from image
 * bytes to model input, run by preprocessing (training data) and by predict (serving).
 */
import { createRequire } from 'node:module';
import type sharpType from 'sharp';
import type { ImageSpec } from './dataset.ts';
import { ImageTooLargeError, InvalidRequestError, NimbusError, PayloadTooLargeError } from './errors.ts';
import { formatPixels, MAX_IMAGE_PIXELS, MAX_REQUEST_PIXELS } from './limits.ts';
import { parseEnvelope } from './predict-request.ts';
import { imageInput, imageSize } from './preprocessor.ts';

/**
 * sharp (native libvips) loads on first use: a predict function serving tabular models never pays for it at
 * cold start. Required (not imported) so that NODE_PATH finds it where Lambda mounts it: the functions' sharp
 * layer's /opt/nodejs/node_modules (ES module resolution reads no NODE_PATH).
 */
let sharpModule: Promise<typeof sharpType> | undefined;
function loadSharp(): Promise<typeof sharpType> {
  sharpModule ??= Promise.resolve().then(() => createRequire(import.meta.url)('sharp') as typeof sharpType);
  return sharpModule;
}

/** The longest request body, in characters: API Gateway's payload limit (10 MB). */
const MAX_REQUEST_CHARS = 10 * 1024 * 1024;

/** An image that cannot be decoded (not PNG/JPEG, truncated). */
export class ImageDecodeError extends NimbusError {}

/**
 * An image whose header declares more than {@link MAX_IMAGE_PIXELS} pixels: refused before its bitmap is
 * allocated. The message reads after "is" (`image "cat/1.png" is …`, `instances[0].b64 is …`).
 */
export class ImagePixelLimitError extends ImageDecodeError {
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    super(
      `${width}×${height} pixels (${(width * height).toLocaleString('en-US')}), past ${formatPixels(MAX_IMAGE_PIXELS)} (the per-image pixel cap)`,
    );
  }
}

/** Size and channels of an encoded image, from its header; {@link ImagePixelLimitError} above the cap. */
export async function probeImage(
  bytes: Uint8Array,
): Promise<{ width: number; height: number; channels: number }> {
  const sharp = await loadSharp();
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch((error: Error) => {
      throw new ImageDecodeError(`not a PNG or JPEG image: ${error.message}`);
    });
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > MAX_IMAGE_PIXELS) throw new ImagePixelLimitError(width, height);
  return { width, height, channels: meta.channels ?? 0 };
}

/**
 * Decodes PNG/JPEG bytes to `height × width × channels` bytes: alpha flattened onto black, converted to
 * grayscale or sRGB, resized to exactly the spec (stretched, as the model sees a fixed shape). sharp refuses an
 * image over {@link MAX_IMAGE_PIXELS} from its header (`limitInputPixels`), before decoding; only then is the
 * header read again, to say so ({@link ImagePixelLimitError}).
 */
export async function decodeImage(bytes: Uint8Array, spec: ImageSpec): Promise<Uint8Array> {
  const sharp = await loadSharp();
  try {
    let image = sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).flatten({ background: '#000000' });
    image = spec.channels === 1 ? image.grayscale() : image.toColourspace('srgb');
    const { data, info } = await image
      .resize(spec.width, spec.height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== spec.channels) {
      throw new Error(`decoded to ${info.channels} channels, expected ${spec.channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (error) {
    const overCap = await probeImage(bytes).then(
      () => undefined,
      (probeError: unknown) => (probeError instanceof ImagePixelLimitError ? probeError : undefined),
    );
    throw overCap ?? new ImageDecodeError(`not a PNG or JPEG image: ${(error as Error).message}`);
  }
}

/**
 * Images in a predict request, in TF Serving's binary form: `{"instances": [{"b64": "…"}, …]}` (or, per
 * instance, `{"image_bytes": {"b64": "…"}}`, the input as the SignatureDef names it, or `{"image": …}`).
 * Returns each image's bytes.
 */
export async function parseImagePredictRequest(
  body: string | undefined | null,
  maxInstances: number,
): Promise<Uint8Array[]> {
  // A base64 image may be as long as the body (API Gateway's 10 MB); an instance holds `b64` or `image`.
  const bounds = { maxInstances, maxFields: 2, maxStringChars: MAX_REQUEST_CHARS };
  const { instances } = await parseEnvelope(body, bounds, '{"instances": [{"b64": "..."}]}');
  return instances.map((instance: unknown, index) => {
    const named = instance as { image?: unknown; image_bytes?: unknown } | null;
    const holder = named?.image_bytes ?? named?.image ?? instance;
    const b64 = (holder as { b64?: unknown } | null)?.b64;
    if (typeof b64 !== 'string' || b64.length === 0) {
      throw new InvalidRequestError(
        `instances[${index}] must be {"b64": "<base64 PNG or JPEG>"}`,
        'b64',
        index,
      );
    }
    return base64Image(b64, `instances[${index}].b64`, 'b64', index);
  });
}

/** A base64 (or base64url) image's bytes; a 400 naming where it was when it is not base64. */
export function base64Image(b64: string, where: string, field: string, index: number): Uint8Array {
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(b64))
    throw new InvalidRequestError(`${where} is not base64`, field, index);
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/**
 * A predict request's images → model input (flat samples); an undecodable image is a 400 naming it, and so is
 * one over the pixel cap ({@link ImageTooLargeError}: its bitmap is never allocated).
 */
export async function requestImagesToInput(
  images: readonly Uint8Array[],
  spec: ImageSpec,
): Promise<Float32Array> {
  const size = imageSize(spec);
  const x = new Float32Array(images.length * size);
  // Every header first (cheap): the pixels of the whole request are bounded before any image is decoded.
  let pixels = 0;
  for (const [index, bytes] of images.entries()) {
    const probe = await probeImage(bytes).catch((error: unknown) => {
      throw requestImageError(error, index);
    });
    pixels += probe.width * probe.height;
    if (pixels > MAX_REQUEST_PIXELS) {
      throw new PayloadTooLargeError(
        `the images of instances[0..${index}] declare ${pixels.toLocaleString('en-US')} pixels; one request may hold at most ${formatPixels(MAX_REQUEST_PIXELS)} (send fewer or smaller images)`,
        'b64',
        index,
      );
    }
  }
  // A few at a time: decoding runs on libuv's small thread pool, which other requests need too.
  let next = 0;
  const decodeNext = async (): Promise<void> => {
    for (let index = next++; index < images.length; index = next++) {
      try {
        imageInput(await decodeImage(images[index] as Uint8Array, spec), x, index * size);
      } catch (error) {
        throw requestImageError(error, index);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, images.length) }, decodeNext));
  return x;
}

/** Images a request decodes at once. */
const DECODE_CONCURRENCY = 2;

/** A predict request's image error, naming its instance: over the pixel cap, or not an image. */
function requestImageError(error: unknown, index: number): Error {
  if (error instanceof ImagePixelLimitError) {
    return new ImageTooLargeError(`instances[${index}].b64 is an image of ${error.message}`, 'b64', index);
  }
  if (!(error instanceof ImageDecodeError)) return error as Error;
  return new InvalidRequestError(`instances[${index}].b64 is ${error.message}`, 'b64', index);
}
