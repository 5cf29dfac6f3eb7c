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

/** Name → what it is, and its body. */
export const SHAPES: Record<string, { readonly what: string; readonly body: () => string }> = {
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
};
