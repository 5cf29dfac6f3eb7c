/**
 * Reading a table as its bytes stream in: UTF-8 text (BOM dropped), then CSV records (delimiter detected,
 * any line end, records bounded) or JSON Lines objects (lines bounded like records). What cannot be read goes
 * to the caller's findings; validation (core/validation/) checks what can.
 */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { type Finding, Sightings } from './validation/finding.ts';

export type TableFormat = 'csv' | 'jsonl';

/** The largest record (line) a CSV may have: a 10 MB field is a broken file, not data. */
export const MAX_RECORD_BYTES = 1024 * 1024;
const DELIMITERS = [',', ';', '\t', '|'];

/** The delimiter of a CSV: the candidate that occurs most often outside quotes in its first line. */
export function detectDelimiter(text: string): string {
  const end = text.search(/\r?\n/);
  const line = (end < 0 ? text : text.slice(0, end)).replace(/"[^"]*"/g, '');
  let best = ',';
  let most = 0;
  for (const d of DELIMITERS) {
    const count = line.split(d).length - 1;
    if (count > most) [best, most] = [d, count];
  }
  return best;
}

/** The options every CSV is read with: the delimiter detected, stray quotes tolerated, records capped. */
function csvOptions(delimiter: string) {
  return {
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    // Any line end, line by line: a file edited on two systems mixes CRLF and LF (csv-parse's auto mode
    // takes the first it meets for the whole file).
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    trim: true,
    max_record_size: MAX_RECORD_BYTES,
  };
}

/** UTF-8 text of a byte stream, chunk by chunk (BOM dropped); a non-UTF-8 or binary file is a finding. */
async function* textChunks(source: AsyncIterable<Uint8Array>, findings: Finding[]): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let first = true;
  const notText = () =>
    findings.push({
      severity: 'error',
      code: 'not-utf8',
      message: 'the file is not UTF-8 text (binary or another encoding)',
    });
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      notText();
      return;
    }
    if (text.includes('\u0000')) {
      notText();
      return;
    }
    if (first && text.length > 0) {
      first = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    if (text.length > 0) yield text;
  }
  try {
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } catch {
    notText();
    return;
  }
  if (bytes === 0) findings.push({ severity: 'error', code: 'empty-file', message: 'the file is empty' });
}

/**
 * The records of a table as its bytes stream in, the header first: CSV (delimiter detected from the first
 * line) through csv-parse's streaming parser, or JSON Lines (the first object's keys are the columns). Problems
 * go to `findings`; the records stop at one that ends the file's reading.
 */
export async function* streamRecords(
  source: AsyncIterable<Uint8Array>,
  format: TableFormat,
  findings: Finding[],
  meta: { delimiter?: string } = {},
): AsyncGenerator<string[]> {
  const text = textChunks(source, findings)[Symbol.asyncIterator]();
  if (format === 'jsonl') {
    yield* jsonLines(text, findings);
    return;
  }
  let head = '';
  while (!/\r?\n/.test(head) && head.length < 65_536) {
    const next = await text.next();
    if (next.done) break;
    head += next.value;
  }
  const delimiter = detectDelimiter(head);
  meta.delimiter = delimiter;
  async function* all(): AsyncGenerator<string> {
    try {
      if (head) yield head;
      for (;;) {
        const next = await text.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await text.return?.(undefined);
    }
  }
  const input = Readable.from(all());
  const parser = input.pipe(parse(csvOptions(delimiter)));
  try {
    for await (const record of parser) yield record as string[];
  } catch (error) {
    const message = (error as Error).message;
    const tooLarge = /max_record_size|Max Record Size/i.test(message);
    findings.push({
      severity: 'error',
      code: tooLarge ? 'record-too-large' : 'not-csv',
      message: tooLarge
        ? `a record is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MB: not a table a model can learn from`
        : `the file is not valid CSV: ${message}`,
    });
  } finally {
    input.destroy();
  }
}

/** JSON Lines: one object per line; the columns are the first object's keys, in its order. */
async function* jsonLines(text: AsyncIterator<string>, findings: Finding[]): AsyncGenerator<string[]> {
  const bad = new Sightings();
  let header: string[] | undefined;
  let buffered = '';
  let line = 0;
  const cell = (v: unknown) =>
    v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // The same bound as a CSV record's: a 40 MB line is a broken file, not data.
  const tooLarge = () => {
    findings.push({
      severity: 'error',
      code: 'record-too-large',
      message: `line ${line + 1} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB: not a table a model can learn from`,
    });
  };
  function* parseLine(raw: string): Generator<string[]> {
    line++;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      bad.add(line);
      return;
    }
    const object = value as Record<string, unknown>;
    if (!header) {
      header = Object.keys(object);
      yield header;
    }
    const extra = Object.keys(object).find((key) => !(header as string[]).includes(key));
    if (extra !== undefined) {
      bad.add(line, `"${extra}" is not a field of line 1`);
      return;
    }
    yield (header as string[]).map((name) => cell(object[name]));
  }
  for (;;) {
    const next = await text.next();
    if (next.done) break;
    // Only the new text is searched for line ends: a long line costs its length once, not once per chunk.
    const lines = next.value.split(/\r?\n/);
    const tail = lines.pop() ?? '';
    if (lines.length > 0) {
      lines[0] = buffered + lines[0];
      buffered = '';
    }
    buffered += tail;
    for (const raw of lines) {
      if (raw.length > MAX_RECORD_BYTES) return tooLarge();
      yield* parseLine(raw);
    }
    if (buffered.length > MAX_RECORD_BYTES) return tooLarge();
  }
  yield* parseLine(buffered);
  if (bad.count > 0) {
    findings.push({
      severity: 'error',
      code: 'invalid-json-lines',
      message: `${bad.count} line(s) are not JSON objects with the first line's fields: lines ${bad.lines.join(', ')}`,
      rows: bad.lines,
      ...(bad.examples.length > 0 ? { examples: bad.examples } : {}),
    });
  }
}

/** Bytes as a stream of one chunk. */
export async function* bytesOf(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
