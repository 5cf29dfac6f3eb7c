/**
 * JSON with bounds, read in one pass: for request bodies a client controls. Every bound — depth, items in an
 * array, keys in an object, the length of a string, values in all — is checked as the text is read, so a
 * body past one is refused after reading only as far as the bound (a 10 MB body of 4.9 million zeros stops
 * at the 1,001st), and the work is linear in what was read. `parseBoundedJsonAsync` gives the event loop
 * back every `sliceChars` of text, so one large body does not hold up the requests that arrive meanwhile.
 *
 * Beyond JSON: TF Serving's bare `NaN`, `Infinity` and `-Infinity` literals are read as those numbers, so that
 * validation can name the field and instance that holds one instead of failing the whole body as malformed.
 */
import { InvalidRequestError } from './errors.ts';

export interface JsonBounds {
  /** Containers inside containers: `{"a": [1]}` is 2 deep. */
  readonly maxDepth: number;
  readonly maxArrayItems: number;
  readonly maxObjectKeys: number;
  /** Characters of one string (a key or a value), once its escapes are read. */
  readonly maxStringChars: number;
  /** Characters of one number as written (a JSON number may have any number of digits). */
  readonly maxNumberChars: number;
  /** Values of every kind, containers included. */
  readonly maxValues: number;
}

/** A body past one of its bounds: which bound, and where (`instances[3].name`, `inputs.x`). */
export class JsonBoundError extends InvalidRequestError {
  constructor(
    message: string,
    readonly bound: keyof JsonBounds,
    readonly path: string,
  ) {
    super(message, path || undefined);
  }
}

/** Malformed JSON: what was expected, at which character. */
export class JsonSyntaxError extends InvalidRequestError {}

/** What ends the plain part of a string: its closing quote, a backslash, or a control character (invalid). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in a string; this finds them.
const SPECIAL = /["\\\u0000-\u001f]/g;
const WHITESPACE = /[ \t\n\r]{1,65536}/y;
const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

type Container =
  | { kind: 'array'; value: unknown[]; key: undefined; keys: 0 }
  | { kind: 'object'; value: Record<string, unknown>; key: string | undefined; keys: number };

enum Expect {
  Value,
  /** After `[`: a value or `]`. */
  ValueOrEnd,
  /** After `{`: a key or `}`. */
  KeyOrEnd,
  Key,
  Colon,
  /** After a value inside a container: `,` or its end. */
  Next,
  /** After the body's value: only whitespace. */
  Done,
}

/** One pass over `text`; `step(chars)` reads about that many characters, `value` is the result once done. */
class Reader {
  private pos = 0;
  private expect = Expect.Value;
  private readonly stack: Container[] = [];
  private values = 0;
  private root: unknown;
  private finished = false;

  constructor(
    private readonly text: string,
    private readonly bounds: JsonBounds,
  ) {}

  get done(): boolean {
    return this.finished;
  }

  get value(): unknown {
    return this.root;
  }

  /** Reads about `chars` characters further (a string or a number is read whole), or to the end. */
  step(chars: number): void {
    const { text } = this;
    const stop = Math.min(text.length, this.pos + chars);
    for (;;) {
      this.skipWhitespace(stop);
      if (this.pos >= text.length) {
        if (this.expect !== Expect.Done) {
          throw new JsonSyntaxError('the request body is not valid JSON: it ends too soon');
        }
        this.finished = true;
        return;
      }
      if (this.pos >= stop) return;
      const c = text.charCodeAt(this.pos);
      switch (this.expect) {
        case Expect.Value:
        case Expect.ValueOrEnd:
          if (c === 0x5d /* ] */ && this.expect === Expect.ValueOrEnd) {
            this.pos++;
            this.close();
          } else this.readValue(c);
          break;
        case Expect.KeyOrEnd:
        case Expect.Key: {
          if (c === 0x7d /* } */ && this.expect === Expect.KeyOrEnd) {
            this.pos++;
            this.close();
            break;
          }
          if (c !== 0x22) this.fail('a key in quotes');
          const top = this.stack[this.stack.length - 1] as Container & { kind: 'object' };
          if (top.keys >= this.bounds.maxObjectKeys) {
            this.bound(
              'maxObjectKeys',
              `has more than ${this.bounds.maxObjectKeys} keys`,
              this.stack.length - 1,
            );
          }
          top.keys++;
          top.key = undefined;
          top.key = this.readString();
          this.expect = Expect.Colon;
          break;
        }
        case Expect.Colon:
          if (c !== 0x3a) this.fail('":"');
          this.pos++;
          this.expect = Expect.Value;
          break;
        case Expect.Next: {
          const top = this.stack[this.stack.length - 1] as Container;
          if (c === 0x2c /* , */) {
            this.pos++;
            this.expect = top.kind === 'array' ? Expect.Value : Expect.Key;
          } else if ((c === 0x5d && top.kind === 'array') || (c === 0x7d && top.kind === 'object')) {
            this.pos++;
            this.close();
          } else this.fail(top.kind === 'array' ? '"," or "]"' : '"," or "}"');
          break;
        }
        case Expect.Done:
          this.fail('the end of the body');
      }
    }
  }

  private readValue(c: number): void {
    if (++this.values > this.bounds.maxValues) {
      this.bound('maxValues', `holds more than ${this.bounds.maxValues} values in all`, this.stack.length);
    }
    const top = this.stack[this.stack.length - 1];
    if (top?.kind === 'array' && top.value.length >= this.bounds.maxArrayItems) {
      this.bound('maxArrayItems', `has more than ${this.bounds.maxArrayItems} items`, this.stack.length - 1);
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (this.stack.length >= this.bounds.maxDepth) {
        this.bound('maxDepth', `nests deeper than ${this.bounds.maxDepth} levels`, this.stack.length);
      }
      this.pos++;
      this.stack.push(
        c === 0x7b
          ? { kind: 'object', value: {}, key: undefined, keys: 0 }
          : { kind: 'array', value: [], key: undefined, keys: 0 },
      );
      this.expect = c === 0x7b ? Expect.KeyOrEnd : Expect.ValueOrEnd;
      return;
    }
    let value: unknown;
    if (c === 0x22) value = this.readString();
    else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) value = this.readNumber();
    else value = this.readLiteral();
    this.put(value);
  }

  /** A string from its opening quote: at most `maxStringChars` characters are looked at. */
  private readString(): string {
    const { text } = this;
    const start = this.pos + 1;
    const max = this.bounds.maxStringChars;
    // One native scan for what ends the plain part of a string: its quote, an escape or a control character,
    // over no more than the bound allows (a slice of a long string is a view, not a copy).
    const scanned = text.length - start > max + 1 ? text.slice(start, start + max + 1) : text;
    SPECIAL.lastIndex = scanned === text ? start : 0;
    const special = SPECIAL.exec(scanned);
    const at = special ? special.index + (scanned === text ? 0 : start) : -1;
    if (at >= 0 && at - start <= max && text.charCodeAt(at) === 0x22) {
      this.pos = at + 1;
      return text.slice(start, at);
    }
    if (at < 0 || at - start > max) {
      if (text.length - start > max) {
        this.pos = start;
        this.bound('maxStringChars', `has a string longer than ${max} characters`, this.stack.length);
      }
      throw new JsonSyntaxError('the request body is not valid JSON: a string is not closed');
    }
    if (text.charCodeAt(at) !== 0x5c) this.syntax(at, 'a string holds a control character');
    // Escapes: find the closing quote (one not escaped) within what `max` characters can be written as (an
    // escape is at most 6 of them), then let JSON.parse read the escapes, and bound what they read as.
    const written = max * 6;
    let end = at;
    for (;;) {
      end = text.indexOf('"', end + 1);
      if (end < 0 || end - start > written) break;
      let backslashes = 0;
      while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    if (end < 0 || end - start > written) {
      if (end >= 0 || text.length - start > written) {
        this.pos = start;
        this.bound('maxStringChars', `has a string longer than ${max} characters`, this.stack.length);
      }
      throw new JsonSyntaxError('the request body is not valid JSON: a string is not closed');
    }
    let value: string;
    try {
      value = JSON.parse(text.slice(start - 1, end + 1)) as string;
    } catch {
      return this.syntax(start, 'a string has an invalid escape or a control character');
    }
    if (value.length > max) {
      this.pos = start;
      this.bound('maxStringChars', `has a string longer than ${max} characters`, this.stack.length);
    }
    this.pos = end + 1;
    return value;
  }

  /** A number (JSON's grammar, or `-Infinity`): its end found by scanning, its value by `Number`. */
  private readNumber(): number {
    const { text } = this;
    const start = this.pos;
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) {
      if (text.startsWith('Infinity', pos + 1)) {
        this.pos += 9;
        return Number.NEGATIVE_INFINITY;
      }
      pos++;
    }
    // Digits are read no further than a number may be long.
    const limit = start + this.bounds.maxNumberChars + 1;
    const digits = (from: number): number => {
      let p = from;
      for (let c = text.charCodeAt(p); p < limit && c >= 0x30 && c <= 0x39; c = text.charCodeAt(++p));
      return p;
    };
    const first = text.charCodeAt(pos);
    if (first === 0x30) pos++;
    else if (first >= 0x31 && first <= 0x39) pos = digits(pos);
    else this.syntax(pos, 'a digit');
    if (text.charCodeAt(pos) === 0x2e /* . */) {
      const end = digits(pos + 1);
      if (end === pos + 1) this.syntax(end, 'a digit');
      pos = end;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      const end = digits(pos);
      if (end === pos) this.syntax(end, 'a digit');
      pos = end;
    }
    if (pos - start > this.bounds.maxNumberChars) {
      this.bound(
        'maxNumberChars',
        `has a number longer than ${this.bounds.maxNumberChars} characters`,
        this.stack.length,
      );
    }
    this.pos = pos;
    return Number(text.slice(start, pos));
  }

  private readLiteral(): unknown {
    const { text } = this;
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.syntax(this.pos, 'a value');
  }

  /** A finished value goes into its container (or is the body). */
  private put(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.root = value;
      this.expect = Expect.Done;
      return;
    }
    if (top.kind === 'array') top.value.push(value);
    else {
      const key = top.key as string;
      // A "__proto__" key is data, as JSON.parse makes it: an own property, never the object's prototype.
      if (key === '__proto__') {
        Object.defineProperty(top.value, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else top.value[key] = value;
    }
    this.expect = Expect.Next;
  }

  private close(): void {
    const container = this.stack.pop() as Container;
    this.put(container.value);
  }

  private skipWhitespace(stop: number): void {
    const { text } = this;
    let pos = this.pos;
    // Mostly none or one character; a long run is skipped natively, a bounded stretch at a time.
    while (pos < stop && isWhitespace(text.charCodeAt(pos))) {
      if (!isWhitespace(text.charCodeAt(pos + 1))) {
        pos++;
        break;
      }
      WHITESPACE.lastIndex = pos;
      WHITESPACE.test(text);
      pos = WHITESPACE.lastIndex;
    }
    this.pos = pos;
  }

  /** Where the first `depth` open containers have got to: `instances[3].name`. */
  private path(depth: number): string {
    let path = '';
    for (let i = 0; i < depth; i++) {
      const container = this.stack[i] as Container;
      if (container.kind === 'array') path += `[${container.value.length}]`;
      else if (container.key !== undefined) path += path === '' ? container.key : `.${container.key}`;
    }
    return path;
  }

  private bound(bound: keyof JsonBounds, what: string, depth: number): never {
    const path = this.path(depth);
    const where = path === '' ? 'the request body' : path;
    throw new JsonBoundError(`${where} ${what}: more than a prediction request may carry`, bound, path);
  }

  private fail(expected: string): never {
    return this.syntax(this.pos, `expected ${expected}`);
  }

  private syntax(at: number, what: string): never {
    throw new JsonSyntaxError(`the request body is not valid JSON: ${what} at character ${at + 1}`);
  }
}

const LITERALS: readonly (readonly [string, unknown])[] = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
];

/**
 * Bodies up to this size go to the native JSON.parse first, their bounds checked on the value: so little can be
 * in them that the native parse is bounded by their size, and it is several times faster than reading here.
 */
const NATIVE_MAX_CHARS = 256 * 1024;

/** Whether a parsed value stays within the bounds (it has no `__proto__` trickery: JSON.parse made it). */
function within(value: unknown, bounds: JsonBounds): boolean {
  return visit(value, 0, bounds, { values: 0 });
}

/** `within`'s walk; `seen` counts the values visited so far. */
function visit(v: unknown, depth: number, bounds: JsonBounds, seen: { values: number }): boolean {
  if (++seen.values > bounds.maxValues) return false;
  if (typeof v === 'string') return v.length <= bounds.maxStringChars;
  if (typeof v !== 'object' || v === null) return true;
  if (depth >= bounds.maxDepth) return false;
  if (Array.isArray(v)) {
    if (v.length > bounds.maxArrayItems) return false;
    for (const item of v) if (!visit(item, depth + 1, bounds, seen)) return false;
    return true;
  }
  const keys = Object.keys(v);
  if (keys.length > bounds.maxObjectKeys) return false;
  for (const key of keys) {
    if (
      key.length > bounds.maxStringChars ||
      !visit((v as Record<string, unknown>)[key], depth + 1, bounds, seen)
    )
      return false;
  }
  return true;
}

/** A run of number characters longer than `maxNumberChars`, by that bound (made once per bound). */
const LONG_NUMBERS = new Map<number, RegExp>();
function longNumber(maxNumberChars: number): RegExp {
  let pattern = LONG_NUMBERS.get(maxNumberChars);
  if (!pattern) {
    pattern = new RegExp(`[-+.eE0-9]{${maxNumberChars + 1}}`);
    if (LONG_NUMBERS.size < 16) LONG_NUMBERS.set(maxNumberChars, pattern);
  }
  return pattern;
}

/** A small body the native parser reads within its bounds, or undefined (then the reader here decides). */
function nativeParse(text: string, bounds: JsonBounds): { value: unknown } | undefined {
  if (text.length > NATIVE_MAX_CHARS) return undefined;
  // A number's length is gone once parsed: a body with a run of number characters longer than the bound
  // is the reader's to judge.
  if (longNumber(bounds.maxNumberChars).test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return within(value, bounds) ? { value } : undefined;
  } catch {
    return undefined; // malformed, or TF Serving's NaN literals: the reader says which
  }
}

/** Reads `text` within `bounds`; throws JsonSyntaxError or JsonBoundError. */
export function parseBoundedJson(text: string, bounds: JsonBounds): unknown {
  const native = nativeParse(text, bounds);
  if (native) return native.value;
  const reader = new Reader(text, bounds);
  reader.step(Number.POSITIVE_INFINITY);
  return reader.value;
}

/** The same, giving the event loop back after every `sliceChars` characters read. */
export async function parseBoundedJsonAsync(
  text: string,
  bounds: JsonBounds,
  sliceChars = 64 * 1024,
): Promise<unknown> {
  const native = nativeParse(text, bounds);
  if (native) return native.value;
  const reader = new Reader(text, bounds);
  reader.step(sliceChars);
  while (!reader.done) {
    await new Promise((resolve) => setImmediate(resolve));
    reader.step(sliceChars);
  }
  return reader.value;
}
