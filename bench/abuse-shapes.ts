/**
 * Hostile predict bodies for bench/abuse.ts, each up to API Gateway's 10 MB: what a careless or hostile client
 * can send to `POST /v1/models/iris:predict`. Built on demand (they are large), by name, in whichever process
 * sends them.
 */

export const FLOWER = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };
export const VALID_BODY = JSON.stringify({ instances: [FLOWER] });
/** What the local gateway accepts (API Gateway's payload limit). */
const LIMIT = 10 * 1024 * 1024;

const repeat = (text: string, times: number) => text.repeat(Math.max(0, times));
const fill = (prefix: string, unit: string, suffix: string) =>
  prefix + repeat(unit, Math.floor((LIMIT - 64 - prefix.length - suffix.length) / unit.length)) + suffix;

/** The image model the image shapes are sent to (bench/abuse.ts trains it on tiny PNGs). */
export const IMAGE_MODEL = 'tiny-images';

/** A black PNG, as small as PNG makes it (a 4096×4096 one is about 50 KB). */
export async function blackPng(side: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width: side, height: side, channels: 3, background: '#000000' } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

const imageBody = async (side: number, count: number) => {
  const b64 = (await blackPng(side)).toString('base64');
  const per = Math.min(count, Math.floor((LIMIT - 64) / (b64.length + 12)));
  return `{"instances":[${Array.from({ length: per }, () => `{"b64":"${b64}"}`).join(',')}]}`;
};

export interface Shape {
  readonly what: string;
  /** The model it is sent to. @default 'iris' */
  readonly model?: string;
  readonly body: () => string | Promise<string>;
}

/** Name → what it is, and its body. */
export const SHAPES: Record<string, Shape> = {
  'zeros-column': {
    what: '4.9 M zeros in one column ({"inputs": {f: [0, 0, …]}})',
    body: () => `${fill('{"inputs":{"sepal_length":[0', ',0', ']}}')}`,
  },
  'instances-nan': {
    what: '4.9 M instances after one NaN literal',
    body: () => fill('{"instances":[NaN', ',1', ']}'),
  },
  'long-string': {
    what: 'one instance with a 10 MB string',
    body: () => fill(`{"instances":[{"sepal_length":1,"note":"`, 'x', '"}]}'),
  },
  'deep-nesting': {
    what: '5 M levels of nested arrays',
    body: () => repeat('[', 5_000_000) + repeat(']', 5_000_000),
  },
  'many-keys': {
    what: 'one instance with 600 k keys',
    body: () => `{"instances":[{${Array.from({ length: 600_000 }, (_, i) => `"k${i}":0`).join(',')}}]}`,
  },
  'whitespace-nan': {
    what: 'a valid-looking instance holding NaN, then 10 MB of whitespace',
    body: () =>
      fill(`{"instances":[${JSON.stringify({ ...FLOWER, sepal_length: 0 }).replace('0', 'NaN')}`, ' ', ']}'),
  },
  unterminated: {
    what: 'an array of 4.9 M values that never closes',
    body: () => fill('{"instances":[', '1,', ''),
  },
  'escaped-strings': {
    what: '1,000 instances of escaped strings (within every bound: refused by type)',
    body: () => {
      const value = repeat('\\u0041', 100);
      const instance = `{${Object.keys(FLOWER)
        .map((name) => `"${name}":"${value}"`)
        .join(',')}}`;
      const per = Math.floor((LIMIT - 64) / (instance.length + 1));
      return `{"instances":[${Array.from({ length: Math.min(1000, per) }, () => instance).join(',')}]}`;
    },
  },
  'float-overflow': {
    what: '1,000 instances of 1e300',
    body: () =>
      JSON.stringify({
        instances: Array.from({ length: 1000 }, () => ({ ...FLOWER, petal_length: 1e300 })),
      }),
  },
  'not-json': {
    what: '10 MB of text that is not JSON',
    body: () => fill('', 'x', ''),
  },
  'only-whitespace': {
    what: '10 MB of whitespace',
    body: () => fill('', ' ', ''),
  },
  'max-valid': {
    what: '1,000 valid instances (the most a request may carry: answered 200)',
    body: () => JSON.stringify({ instances: Array.from({ length: 1000 }, () => FLOWER) }),
  },
  'image-pixels': {
    what: 'as many black 4096×4096 PNGs as 10 MB holds (each within the per-image cap)',
    model: IMAGE_MODEL,
    body: () => imageBody(4096, 1000),
  },
  'image-many': {
    what: '1,000 valid 28×28 PNGs (the most an image request may carry: answered 200)',
    model: IMAGE_MODEL,
    body: () => imageBody(28, 1000),
  },
};
