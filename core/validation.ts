/**
 * Tabular dataset validation: parsing (CSV with its delimiter detected, or JSON Lines), column profiles and
 * the findings a person fixing the file needs — each with a severity, a code, and where it is (rows, column,
 * examples). Errors stop the pipeline; warnings go on. The report is saved next to the dataset version.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { type Baseline, BaselineAccumulator } from './baseline.ts';
import {
  type ColumnSchema,
  type ColumnType,
  chooseLabel,
  type DatasetManifest,
  type DatasetSchema,
  isMissing,
  MIN_ROWS,
  MIN_ROWS_PER_CLASS,
  type ParsedTable,
  REGRESSION_DISTINCT_LABELS,
  type TaskType,
} from './dataset.ts';
import { DatasetValidationError } from './errors.ts';

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly severity: Severity;
  /** Stable identifier of the kind of problem, e.g. `ragged-rows`, `label-leakage`. */
  readonly code: string;
  readonly message: string;
  readonly column?: string;
  /** 1-based line numbers (the header is line 1), at most MAX_REPORTED of them. */
  readonly rows?: readonly number[];
  readonly examples?: readonly string[];
}

export interface ColumnProfile {
  readonly name: string;
  readonly role: 'feature' | 'label' | 'ignored' | 'dropped';
  readonly type: ColumnType;
  readonly missingRatio: number;
  /** Distinct present values. */
  readonly cardinality: number;
}

export type TableFormat = 'csv' | 'jsonl';

/** `versions/<name>/<version>.report.json`: what a user reads to fix a dataset. */
export interface ValidationReport {
  readonly valid: boolean;
  readonly format: TableFormat;
  readonly delimiter?: string;
  readonly rowCount: number;
  readonly columns: readonly ColumnProfile[];
  readonly label?: {
    readonly name: string;
    readonly task: TaskType;
    readonly counts?: Record<string, number>;
  };
  readonly duplicateRows: number;
  readonly errors: number;
  readonly warnings: number;
  readonly findings: readonly Finding[];
}

/** The largest record (line) a CSV may have: a 10 MB field is a broken file, not data. */
export const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_REPORTED = 10;
const DELIMITERS = [',', ';', '\t', '|'];
/** A class this many times rarer than the commonest is an imbalance worth a warning. */
const IMBALANCE_RATIO = 10;
/** A column at least this share numeric, but not all, has stray text: a warning, the text read as missing. */
const MOSTLY_NUMERIC = 0.9;

/** Text cells that spreadsheets would run as formulas (CSV injection); numbers like -5 are not. */
export function looksLikeFormula(cell: string): boolean {
  return /^[=+\-@\t\r]/.test(cell) && !Number.isFinite(Number(cell));
}

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

/**
 * The longest cell a table's column (or its label) may hold: a category, a number, a short code. Longer is free
 * text — a user leaves it out with the manifest's `ignore` — and a category of it would be carried in every
 * schema, preprocessor and predict answer of the model (a request's strings are bounded the same way).
 */
export const MAX_CELL_CHARS = 1024;

/**
 * The most columns a table may have, and the longest column name. A dataset's schema travels in the
 * pipeline's state (Step Functions: 256 KB) and in its registry item (DynamoDB: 400 KB); past these a table is
 * not one a model here learns from (images are a zip or a folder of class folders, not a CSV of pixels).
 */
export const MAX_COLUMNS = 2000;
export const MAX_COLUMN_NAME_CHARS = 256;
/** The largest schema (as JSON) a dataset version may have: column names and classes together. */
export const MAX_SCHEMA_BYTES = 128 * 1024;

/** Checks a header: at most MAX_COLUMNS, names present, unique, not too long, at least two, not numbers. */
function checkHeader(names: readonly string[], findings: Finding[]): void {
  if (names.length > MAX_COLUMNS) {
    findings.push({
      severity: 'error',
      code: 'too-many-columns',
      message: `the header has ${names.length} columns; a table may have at most ${MAX_COLUMNS}`,
    });
    return;
  }
  const long = names.find((name) => name.length > MAX_COLUMN_NAME_CHARS);
  if (long !== undefined) {
    findings.push({
      severity: 'error',
      code: 'column-name-too-long',
      message: `a column name is ${long.length} characters (${JSON.stringify(`${long.slice(0, 40)}…`)}); at most ${MAX_COLUMN_NAME_CHARS} are allowed`,
    });
  }
  // Rows become objects keyed by column name in many places; this one name would be their prototype there.
  if (names.includes('__proto__')) {
    findings.push({
      severity: 'error',
      code: 'reserved-column-name',
      message: 'a column is named "__proto__", which no column may be: rename it',
      column: '__proto__',
    });
  }
  const blank = names.indexOf('');
  if (blank >= 0) {
    findings.push({
      severity: 'error',
      code: 'blank-column-name',
      message: `header column ${blank + 1} has no name`,
    });
  }
  const seen = new Set<string>();
  const reported = new Set<string>();
  for (const name of names) {
    if (seen.has(name) && name !== '' && !reported.has(name)) {
      reported.add(name);
      findings.push({
        severity: 'error',
        code: 'duplicate-column',
        message: `the header names column "${name}" twice`,
        column: name,
      });
    }
    seen.add(name);
  }
  if (names.length < 2) {
    findings.push({
      severity: 'error',
      code: 'too-few-columns',
      message: 'the file needs at least two columns: one feature and a label',
    });
  }
  if (names.length >= 2 && names.every((name) => name !== '' && !Number.isNaN(Number(name)))) {
    findings.push({
      severity: 'error',
      code: 'no-header',
      message: 'the first row looks like data, not a header: every name is a number',
    });
  }
}

/** The manifest's say over columns: forced types and columns to leave out. */
export interface ColumnOptions {
  readonly label: string;
  readonly task?: TaskType;
  readonly types?: Readonly<Record<string, ColumnType>>;
  readonly ignore?: readonly string[];
}

/** Distinct values kept per column (and label): beyond, a column's cardinality reads as this many. */
export const MAX_DISTINCT = 10_000;
/** Characters of distinct values profiling keeps over all columns (RegisterDataset has 1 GB). */
export const MAX_DISTINCT_CHARS = 64 * 1024 * 1024;
/** Rows checked for duplicates: the first million (a 53-bit hash each). */
export const MAX_DUPLICATE_ROWS = 1_000_000;

type Result = {
  schema?: DatasetSchema;
  columns: ColumnProfile[];
  label?: ValidationReport['label'];
  duplicateRows: number;
};

/** Where a problem was seen: how often, the first lines, a few examples. */
class Sightings {
  count = 0;
  readonly lines: number[] = [];
  readonly examples: string[] = [];
  add(line: number, example?: string): void {
    this.count++;
    if (this.lines.length < MAX_REPORTED) this.lines.push(line);
    if (example !== undefined && this.examples.length < 5 && !this.examples.includes(example))
      this.examples.push(example);
  }
}

class ColumnStats {
  present = 0;
  numeric = 0;
  readonly distinct = new Set<string>();
  first: string | undefined;
  sameAsLabel = true;
  readonly strays = new Sightings();
}

/** 53-bit FNV-1a of a string: duplicate rows by hash, in bounded memory. */
function hash53(text: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x0100019d);
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

/**
 * Profiles a table one row at a time, in memory bounded by its width (not its length): what a 1 GB file can
 * be checked with as it streams by. `finish()` adds the findings and returns the profile and, when there is
 * no error, the schema.
 */
export class TableProfiler {
  private readonly labelIndex: number;
  private readonly columns: ColumnStats[];
  private readonly labelCounts = new Map<string, number>();
  private labelOverflow = false;
  private labelNumeric = true;
  private readonly missingLabel = new Sightings();
  private readonly formulas = new Sightings();
  private readonly formulaColumns: string[] = [];
  private readonly seenRows = new Set<number>();
  private readonly duplicates = new Sightings();
  /** Cells longer than MAX_CELL_CHARS, with their column names as examples. */
  private readonly longCells = new Sightings();
  /** Characters of every column's distinct values kept so far. */
  private distinctChars = 0;
  /** Columns the manifest leaves out: their cells may be anything. */
  private readonly ignored: Set<number>;
  private rows = 0;

  constructor(
    private readonly header: readonly string[],
    private readonly options: ColumnOptions,
  ) {
    this.labelIndex = header.indexOf(options.label);
    this.columns = header.map(() => new ColumnStats());
    const ignore = new Set(options.ignore ?? []);
    this.ignored = new Set(header.flatMap((name, i) => (ignore.has(name) ? [i] : [])));
  }

  /** One data row; `line` is its 1-based line in the file (the header is line 1). */
  add(row: readonly string[], line: number): void {
    this.rows++;
    const label = row[this.labelIndex] ?? '';
    for (let c = 0; c < this.header.length; c++) {
      const cell = row[c] ?? '';
      const stats = this.columns[c] as ColumnStats;
      if (looksLikeFormula(cell)) {
        this.formulas.add(line, cell.slice(0, 40));
        if (this.formulaColumns.length < MAX_REPORTED) this.formulaColumns.push(this.header[c] as string);
      }
      if (stats.sameAsLabel && cell !== label) stats.sameAsLabel = false;
      if (isMissing(cell)) continue;
      stats.present++;
      // Text too long to be a value a model takes (free text): counted, never kept.
      if (cell.length > MAX_CELL_CHARS) {
        if (!this.ignored.has(c)) this.longCells.add(line, this.header[c] as string);
        continue;
      }
      stats.first ??= cell;
      if (Number.isFinite(Number(cell))) stats.numeric++;
      else stats.strays.add(line, cell.slice(0, 40));
      // Distinct values are counted up to MAX_DISTINCT a column and MAX_DISTINCT_CHARS over the table: a
      // wide table of long categories would otherwise hold gigabytes (its cardinality then reads "at least").
      if (
        stats.distinct.size < MAX_DISTINCT &&
        !stats.distinct.has(cell) &&
        this.distinctChars < MAX_DISTINCT_CHARS
      ) {
        stats.distinct.add(cell);
        this.distinctChars += cell.length;
      }
    }
    if (isMissing(label)) this.missingLabel.add(line);
    else if (label.length > MAX_CELL_CHARS) this.longCells.add(line, this.options.label);
    else {
      if (!Number.isFinite(Number(label))) this.labelNumeric = false;
      const known = this.labelCounts.get(label);
      if (known !== undefined) this.labelCounts.set(label, known + 1);
      else if (this.labelCounts.size < MAX_DISTINCT) this.labelCounts.set(label, 1);
      else this.labelOverflow = true;
    }
    if (this.rows <= MAX_DUPLICATE_ROWS) {
      const key = hash53(row.join('\u0001'));
      if (this.seenRows.has(key)) this.duplicates.add(line);
      else this.seenRows.add(key);
    }
  }

  finish(findings: Finding[]): Result {
    const { header, options } = this;
    const start = findings.length;
    const error = (code: string, message: string, extra: Partial<Finding> = {}) =>
      findings.push({ severity: 'error', code, message, ...extra });
    const warn = (code: string, message: string, extra: Partial<Finding> = {}) =>
      findings.push({ severity: 'warning', code, message, ...extra });

    if (this.longCells.count > 0) {
      const columns = this.longCells.examples.map((c) => JSON.stringify(c.slice(0, 40))).join(', ');
      error(
        'cell-too-long',
        `${this.longCells.count} cell(s) are longer than ${MAX_CELL_CHARS} characters (column ${columns}; rows ${this.longCells.lines.join(', ')}): free text is not a value a model takes — list the column in the manifest's "ignore"`,
        { rows: this.longCells.lines },
      );
    }
    if (this.labelIndex < 0) {
      error('label-not-found', `label column "${options.label}" is not in the header (${header.join(', ')})`);
      return { columns: [], duplicateRows: 0 };
    }
    for (const name of [...(options.ignore ?? []), ...Object.keys(options.types ?? {})]) {
      if (!header.includes(name)) {
        error('unknown-column', `the manifest names column "${name}", which is not in the header`, {
          column: name,
        });
      }
    }
    if (options.ignore?.includes(options.label)) {
      error('label-ignored', `the label column "${options.label}" cannot be ignored`);
    }
    if (this.formulas.count > 0) {
      error(
        'formula-cells',
        `${this.formulas.count} cell(s) look like spreadsheet formulas (start with =, +, - or @): ${this.formulas.lines
          .map((line, i) => `row ${line} column "${this.formulaColumns[i]}"`)
          .join(', ')}`,
        { rows: this.formulas.lines, examples: this.formulas.examples.slice(0, 3) },
      );
    }

    const columns: ColumnProfile[] = [];
    const features: ColumnSchema[] = [];
    for (const [c, name] of header.entries()) {
      const stats = this.columns[c] as ColumnStats;
      const missingRatio = this.rows > 0 ? 1 - stats.present / this.rows : 0;
      const cardinality = stats.distinct.size;
      const numericShare = stats.present > 0 ? stats.numeric / stats.present : 0;
      const forced = options.types?.[name];
      const type: ColumnType =
        forced ?? (numericShare >= MOSTLY_NUMERIC && stats.present > 0 ? 'numeric' : 'categorical');
      const profile = (role: ColumnProfile['role']): ColumnProfile => ({
        name,
        role,
        type,
        missingRatio,
        cardinality,
      });
      if (c === this.labelIndex) {
        columns.push(profile('label'));
        continue;
      }
      if (options.ignore?.includes(name)) {
        columns.push(profile('ignored'));
        continue;
      }
      if (stats.present === 0) {
        error('all-missing', `column "${name}" has no values`, { column: name });
        columns.push(profile('dropped'));
        continue;
      }
      if (type === 'numeric' && numericShare < 1) {
        const finding = { column: name, rows: stats.strays.lines, examples: stats.strays.examples };
        const message = `column "${name}" is numeric but ${stats.strays.count} value(s) are not numbers (${finding.examples
          .map((e) => JSON.stringify(e))
          .join(', ')})`;
        if (forced) error('non-numeric-values', `${message}; the manifest says it is numeric`, finding);
        else warn('non-numeric-values', `${message}; they are read as missing`, finding);
      }
      if (cardinality === 1 && this.rows > 1) {
        warn(
          'constant-column',
          `column "${name}" has one value ("${stats.first}"): it carries no information and is left out`,
          {
            column: name,
          },
        );
        columns.push(profile('dropped'));
        continue;
      }
      if (stats.sameAsLabel && this.rows > 0) {
        error(
          'label-leakage',
          `column "${name}" is identical to the label "${options.label}": a model would learn nothing`,
          {
            column: name,
          },
        );
      }
      features.push({ name, type });
      columns.push(profile('feature'));
    }

    const labelName = options.label;
    if (this.missingLabel.count > 0) {
      error(
        'label-missing',
        `label "${labelName}" is missing in ${this.missingLabel.count} row(s): rows ${this.missingLabel.lines.join(', ')}`,
        { column: labelName, rows: this.missingLabel.lines },
      );
    }
    const counts = Object.fromEntries(this.labelCounts);
    const values = [...this.labelCounts.keys()];
    const numericLabel = values.length > 0 && this.labelNumeric;
    const distinct = this.labelOverflow ? Number.POSITIVE_INFINITY : values.length;
    const task: TaskType =
      options.task ??
      (numericLabel && distinct > REGRESSION_DISTINCT_LABELS ? 'regression' : 'classification');
    if (this.rows < MIN_ROWS)
      error('too-few-rows', `the dataset has ${this.rows} rows; at least ${MIN_ROWS} are needed`);
    if (task === 'regression') {
      if (!numericLabel) {
        const bad = values.find((v) => !Number.isFinite(Number(v)));
        error(
          'non-numeric-label',
          `regression needs a numeric label; "${labelName}" has the value ${JSON.stringify(bad)}`,
          {
            column: labelName,
          },
        );
      }
    } else {
      if (this.labelOverflow) {
        error(
          'too-many-classes',
          `label "${labelName}" has more than ${MAX_DISTINCT} distinct values; a classifier needs fewer`,
          {
            column: labelName,
          },
        );
      }
      if (values.length < 2) {
        error(
          'one-class',
          `label "${labelName}" has ${values.length} distinct value(s); a classifier needs at least 2`,
          {
            column: labelName,
          },
        );
      }
      const rare = values.filter((c) => (counts[c] ?? 0) < MIN_ROWS_PER_CLASS);
      if (rare.length > 0 && values.length >= 2) {
        error(
          'rare-class',
          `class(es) ${rare.map((c) => `"${c}" (${counts[c]} rows)`).join(', ')} have fewer than ${MIN_ROWS_PER_CLASS} rows`,
          { column: labelName },
        );
      }
      const sizes = Object.values(counts);
      const [most, least] = [Math.max(0, ...sizes), Math.min(Number.POSITIVE_INFINITY, ...sizes)];
      if (sizes.length >= 2 && most >= IMBALANCE_RATIO * least) {
        warn(
          'label-imbalance',
          `the classes are imbalanced (${most} vs ${least} rows): consider "classWeight": "balanced" or "oversample": "smote"`,
          { column: labelName },
        );
      }
    }
    if (features.length === 0 && !findings.slice(start).some((f) => f.severity === 'error')) {
      error('no-features', 'there is no feature column besides the label');
    }
    if (this.duplicates.count > 0) {
      const scope = this.rows > MAX_DUPLICATE_ROWS ? ` (among the first ${MAX_DUPLICATE_ROWS} rows)` : '';
      warn(
        'duplicate-rows',
        `${this.duplicates.count} row(s) repeat an earlier row${scope}: rows ${this.duplicates.lines.join(', ')}`,
        { rows: this.duplicates.lines },
      );
    }

    const label = { name: labelName, task, ...(task === 'classification' ? { counts } : {}) };
    const duplicateRows = this.duplicates.count;
    if (findings.slice(start).some((f) => f.severity === 'error')) return { columns, label, duplicateRows };
    const schema: DatasetSchema = {
      kind: 'tabular',
      task,
      label: labelName,
      features,
      classes: task === 'classification' ? values.sort() : [],
      rowCount: this.rows,
    };
    return { schema, columns, label, duplicateRows };
  }
}

/**
 * Profiles every column and checks the rows can train a model of the task. Returns the schema when there is
 * no error (warnings allowed). Findings go to `findings`.
 */
export function profileTable(table: ParsedTable, options: ColumnOptions, findings: Finding[]): Result {
  const profiler = new TableProfiler(table.header, options);
  table.rows.forEach((row, i) => {
    profiler.add(row, i + 2);
  });
  return profiler.finish(findings);
}

/** What one pass over a tabular dataset version gives: its report, its content hash, and (valid) its schema and baseline. */
export interface StreamValidation {
  readonly report: ValidationReport;
  /** SHA-256 of the bytes, hex, and their number. */
  readonly hash: string;
  readonly bytes: number;
  readonly schema?: DatasetSchema;
  readonly baseline?: Baseline;
}

/**
 * The whole check of a tabular dataset version in one streaming pass, in memory bounded by the table's width:
 * the content hash, the report, and — when there is no error — the schema and the baseline statistics of every
 * row. Never throws for the data's sake; read `report.valid`.
 */
export async function validateStream(
  source: AsyncIterable<Uint8Array>,
  format: TableFormat,
  manifest: DatasetManifest = {},
): Promise<StreamValidation> {
  const findings: Finding[] = [];
  const meta: { delimiter?: string } = {};
  const hash = createHash('sha256');
  let bytes = 0;
  // Every byte is hashed, even after the records stop at a broken line: the hash names the version.
  const input = new PassThrough();
  let header: string[] | undefined;
  let profiler: TableProfiler | undefined;
  const ragged = new Sightings();
  const raggedFields: number[] = [];
  let rows = 0;
  // The baseline needs column types, known only at the end: cells are summarized as both number and text.
  let cells: BaselineAccumulator | undefined;
  const reading = (async () => {
    for await (const record of streamRecords(input, format, findings, meta)) {
      if (!header) {
        header = record.map((name) => name.trim());
        checkHeader(header, findings);
        // A table too wide to profile is not profiled: its rows are only counted (and hashed).
        if (header.length > MAX_COLUMNS) continue;
        try {
          const label = chooseLabel(header, manifest);
          const schemaOptions: ColumnOptions = {
            label,
            ...(manifest.task ? { task: manifest.task } : {}),
            ...(manifest.types ? { types: manifest.types } : {}),
            ...(manifest.ignore ? { ignore: manifest.ignore } : {}),
          };
          profiler = new TableProfiler(header, schemaOptions);
          cells = new BaselineAccumulator({
            kind: 'tabular',
            task: 'classification',
            label,
            features: header
              .filter((name) => name !== label)
              .map((name) => ({ name, type: 'numeric' as const })),
            classes: [],
            rowCount: 0,
          });
        } catch (error) {
          findings.push({ severity: 'error', code: 'label-not-found', message: (error as Error).message });
        }
        continue;
      }
      rows++;
      const line = rows + 1;
      if (record.length !== header.length) {
        ragged.add(line);
        if (raggedFields.length < MAX_REPORTED) raggedFields.push(record.length);
        continue;
      }
      profiler?.add(record, line);
      if (cells) {
        const named: Record<string, string> = {};
        for (const [i, name] of header.entries()) named[name] = record[i] as string;
        cells.add(named);
      }
    }
  })();
  let done = false;
  const finished = reading.finally(() => {
    done = true;
  });
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    if (done || input.destroyed) continue;
    if (!input.write(chunk)) await Promise.race([once(input, 'drain'), finished]);
  }
  input.end();
  await finished;
  const structural = [...findings];
  if (!header && !findings.some((f) => f.severity === 'error')) {
    findings.push({ severity: 'error', code: 'no-header', message: 'the file has no header row' });
  }
  if (header && rows === 0) {
    findings.push({ severity: 'error', code: 'no-rows', message: 'the file has a header but no data rows' });
  }
  if (ragged.count > 0 && header) findings.push(raggedFinding(ragged, raggedFields, header.length));
  // A file that could not be read as a table gets no column findings: they would only repeat the cause.
  const readable =
    header !== undefined &&
    findings.length === structural.length &&
    !structural.some((f) => f.severity === 'error');
  const profile = readable && profiler ? profiler.finish(findings) : undefined;
  const errors = findings.filter((f) => f.severity === 'error').length;
  let report: ValidationReport = {
    valid: errors === 0,
    format,
    ...(meta.delimiter ? { delimiter: meta.delimiter } : {}),
    rowCount: rows,
    columns: profile?.columns ?? [],
    ...(profile?.label ? { label: profile.label } : {}),
    duplicateRows: profile?.duplicateRows ?? 0,
    errors,
    warnings: findings.length - errors,
    findings,
  };
  let schema = errors === 0 ? profile?.schema : undefined;
  const schemaBytes = schema ? Buffer.byteLength(JSON.stringify(schema)) : 0;
  if (schema && schemaBytes > MAX_SCHEMA_BYTES) {
    findings.push({
      severity: 'error',
      code: 'schema-too-large',
      message: `the table's schema (${schema.features.length} columns, ${schema.classes.length} classes) is ${Math.round(schemaBytes / 1024)} KB as JSON; at most ${MAX_SCHEMA_BYTES / 1024} KB (fewer or shorter column names and classes)`,
    });
    report = { ...report, valid: false, errors: report.errors + 1 };
    schema = undefined;
  }
  return {
    report,
    hash: hash.digest('hex'),
    bytes,
    ...(schema ? { schema, baseline: baselineOf(schema, cells as BaselineAccumulator) } : {}),
  };
}

/** The cell summaries, read with the schema's column types and task. */
function baselineOf(schema: DatasetSchema, cells: BaselineAccumulator): Baseline {
  return cells.finishAs(schema);
}

function raggedFinding(ragged: Sightings, fields: readonly number[], width: number): Finding {
  return {
    severity: 'error',
    code: 'ragged-rows',
    message: `${ragged.count} row(s) have the wrong number of fields: ${ragged.lines
      .map((line, i) => `row ${line} has ${fields[i]} fields, the header has ${width}`)
      .join('; ')}`,
    rows: ragged.lines,
  };
}

/** The rows of a table (for the in-memory steps), or a DatasetValidationError with the reading problems. */
export async function readTable(
  source: AsyncIterable<Uint8Array>,
  format: TableFormat = 'csv',
): Promise<ParsedTable> {
  const findings: Finding[] = [];
  const records: string[][] = [];
  for await (const record of streamRecords(source, format, findings)) records.push(record);
  const [header, ...rows] = records;
  if (header) {
    checkHeader(
      header.map((name) => name.trim()),
      findings,
    );
    if (rows.length === 0) {
      findings.push({
        severity: 'error',
        code: 'no-rows',
        message: 'the file has a header but no data rows',
      });
    }
    const ragged = new Sightings();
    const fields: number[] = [];
    rows.forEach((row, i) => {
      if (row.length === header.length) return;
      ragged.add(i + 2);
      if (fields.length < MAX_REPORTED) fields.push(row.length);
    });
    if (ragged.count > 0) findings.push(raggedFinding(ragged, fields, header.length));
  }
  const errors = findings.filter((f) => f.severity === 'error').map((f) => f.message);
  if (!header || errors.length > 0)
    throw new DatasetValidationError(errors.join('; ') || 'the file has no header row', errors);
  return { header: header.map((name) => name.trim()), rows };
}

/** Bytes as a stream of one chunk. */
export async function* bytesOf(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** The error a failed validation raises: the errors in one line, each as a finding. */
export function validationError(report: ValidationReport, where?: string): DatasetValidationError {
  const errors = report.findings.filter((f) => f.severity === 'error').map((f) => f.message);
  const suffix = where ? ` (report: ${where})` : '';
  return new DatasetValidationError(`${errors.join('; ')}${suffix}`, errors);
}

/** The schema of a parsed table, or a DatasetValidationError with every error finding. */
export function inferSchema(table: ParsedTable, label: string, task?: TaskType): DatasetSchema {
  const findings: Finding[] = [];
  const { schema } = profileTable(table, { label, ...(task ? { task } : {}) }, findings);
  const errors = findings.filter((f) => f.severity === 'error').map((f) => f.message);
  if (!schema || errors.length > 0) throw new DatasetValidationError(errors.join('; '), errors);
  return schema;
}
