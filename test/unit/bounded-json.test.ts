/** The bounded JSON reader of request bodies: JSON.parse's answers, within bounds checked as it reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  JsonBoundError,
  type JsonBounds,
  JsonSyntaxError,
  parseBoundedJson,
  parseBoundedJsonAsync,
} from '../../core/bounded-json.ts';

const OPEN: JsonBounds = {
  maxDepth: 64,
  maxArrayItems: 1e9,
  maxObjectKeys: 1e9,
  maxStringChars: 1e9,
  maxNumberChars: 1e6,
  maxValues: 1e9,
};
/** Past the native parser's size, so the reader itself reads it. */
const big = (text: string) => `${text}${' '.repeat(300 * 1024)}`;

describe('bounded JSON', () => {
  it('reads what JSON.parse reads, and refuses what it refuses (fuzzed), small bodies and large alike', async () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const expected = JSON.stringify(JSON.parse(text));
        assert.equal(JSON.stringify(parseBoundedJson(text, OPEN)), expected);
        assert.equal(JSON.stringify(parseBoundedJson(big(text), OPEN)), expected);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        if (/NaN|Infinity/.test(text)) return;
        const native = (() => {
          try {
            return { value: JSON.stringify(JSON.parse(text)) };
          } catch {
            return undefined;
          }
        })();
        for (const body of [text, big(text)]) {
          if (native) assert.equal(JSON.stringify(parseBoundedJson(body, OPEN)), native.value, body);
          else assert.throws(() => parseBoundedJson(body, OPEN), JsonSyntaxError, JSON.stringify(text));
        }
      }),
      { numRuns: 5000 },
    );
    const text = big(
      JSON.stringify({ instances: Array.from({ length: 50 }, (_, i) => ({ a: i, b: `x${i}` })) }),
    );
    assert.deepEqual(await parseBoundedJsonAsync(text, OPEN, 1024), parseBoundedJson(text, OPEN));
  });

  it("reads TF Serving's NaN and Infinity literals as numbers, outside strings only", () => {
    for (const body of ['[NaN, Infinity, -Infinity, "NaN"]', big('[NaN, Infinity, -Infinity, "NaN"]')]) {
      assert.deepEqual(parseBoundedJson(body, OPEN), [Number.NaN, Infinity, -Infinity, 'NaN']);
    }
    assert.throws(() => parseBoundedJson('[Nan]', OPEN), JsonSyntaxError);
  });

  it('keeps a "__proto__" key as data, never as the prototype', () => {
    for (const body of ['{"__proto__": {"polluted": 1}}', big('{"__proto__": {"polluted": 1}}')]) {
      const value = parseBoundedJson(body, OPEN) as Record<string, unknown>;
      assert.deepEqual(Object.keys(value), ['__proto__']);
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });

  it('refuses a body past each bound, naming the bound and where it was passed', () => {
    const bounds: JsonBounds = {
      maxDepth: 3,
      maxArrayItems: 3,
      maxObjectKeys: 2,
      maxStringChars: 5,
      maxNumberChars: 4,
      maxValues: 12,
    };
    const refused = (body: string, bound: keyof JsonBounds, path: string) => {
      for (const text of [body, big(body)]) {
        assert.throws(
          () => parseBoundedJson(text, bounds),
          (error: unknown) => error instanceof JsonBoundError && error.bound === bound && error.path === path,
          `${bound} at ${path}: ${body.slice(0, 60)}`,
        );
      }
    };
    refused('{"a":[[[1]]]}', 'maxDepth', 'a[0][0]');
    refused('{"a":[1,2,3,4]}', 'maxArrayItems', 'a');
    refused('{"a":[{"x":1,"y":2,"z":3}]}', 'maxObjectKeys', 'a[0]');
    refused('{"a":["toolong"]}', 'maxStringChars', 'a[0]');
    // Escapes count as what they read as: "\u0041" × 5 is 5 characters, × 6 is 6.
    assert.deepEqual(parseBoundedJson(`["${'\\u0041'.repeat(5)}"]`, bounds), ['AAAAA']);
    refused(`{"a":["${'\\u0041'.repeat(6)}"]}`, 'maxStringChars', 'a[0]');
    refused('{"a":[123456]}', 'maxNumberChars', 'a[0]');
    refused('[1,2,3,4]', 'maxArrayItems', '');
    refused('[[1,2,3],[1,2,3],[1,2,3]]', 'maxValues', '[2][2]');
    // Within every bound: read.
    assert.deepEqual(parseBoundedJson('{"a":[[1,"abcde"]]}', bounds), { a: [[1, 'abcde']] });
  });

  it('stops at a bound without reading the rest of a 10 MB body', () => {
    // Past the bound the body is not even JSON: a reader that read on would say so instead.
    const zeros = `{"inputs":{"f":[${'0,'.repeat(4.9e6)}0]}}} not json`;
    const bounds: JsonBounds = {
      maxDepth: 4,
      maxArrayItems: 1000,
      maxObjectKeys: 8,
      maxStringChars: 4096,
      maxNumberChars: 256,
      maxValues: 1e5,
    };
    assert.throws(
      () => parseBoundedJson(zeros, bounds),
      (error: unknown) =>
        error instanceof JsonBoundError &&
        error.path === 'inputs.f' &&
        /has more than 1000 items/.test(error.message),
    );
  });

  it('gives the event loop back while it reads a large body', async () => {
    const body = JSON.stringify({ instances: [{ a: 1 }] }).replace('[', `[${' '.repeat(10 * 1024 * 1024)}`);
    let turns = 0;
    let reading = true;
    const count = () => {
      turns++;
      if (reading) setImmediate(count);
    };
    setImmediate(count);
    await parseBoundedJsonAsync(body, OPEN);
    reading = false;
    // 10 MB in slices of 64 KB: the loop turned between (nearly) every two of them.
    assert.ok(turns >= 100, `the event loop turned ${turns} times while 10 MB were read`);
  });
});
