/**
 * Tabular dataset validation: parsing (CSV with its delimiter detected, or JSON Lines), column profiles and
 * the findings a person fixing the file needs — each with a severity, a code, and where it is (rows, column,
 * examples). Errors stop the pipeline; warnings go on. The report is saved next to the dataset version.
 */
import { parse } from 'csv-parse/sync';
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
function looksLikeFormula(cell: string): boolean {
  return /^[=+\-@\t\r]/.test(cell) && !Number.isFinite(Number(cell));
}

function decode(bytes: Uint8Array, findings: Finding[]): string | undefined {
  if (bytes.byteLength === 0) {
    findings.push({ severity: 'error', code: 'empty-file', message: 'the file is empty' });
    return undefined;
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.includes('\u0000')) throw new Error('NUL byte');
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch {
    findings.push({
      severity: 'error',
      code: 'not-utf8',
      message: 'the file is not UTF-8 text (binary or another encoding)',
    });
    return undefined;
  }
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

/** Parses the bytes; problems go to `findings` and leave the table undefined (or with what could be read). */
export function parseTable(
  bytes: Uint8Array,
  format: TableFormat,
  findings: Finding[],
): { table?: ParsedTable; delimiter?: string } {
  const text = decode(bytes, findings);
  if (text === undefined) return {};
  let records: string[][];
  let delimiter: string | undefined;
  if (format === 'jsonl') {
    const parsed = parseJsonLines(text, findings);
    if (!parsed) return {};
    records = parsed;
  } else {
    delimiter = detectDelimiter(text);
    try {
      records = parse(text, {
        delimiter,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        trim: true,
        max_record_size: MAX_RECORD_BYTES,
      });
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
      return { delimiter };
    }
  }
  const [header, ...rows] = records;
  if (!header || header.length === 0) {
    findings.push({ severity: 'error', code: 'no-header', message: 'the file has no header row' });
    return { delimiter };
  }
  const names = header.map((name) => name.trim());
  const structural = findings.length;
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
  if (rows.length === 0) {
    findings.push({ severity: 'error', code: 'no-rows', message: 'the file has a header but no data rows' });
  }
  const ragged = rows.flatMap((row, i) =>
    row.length === names.length ? [] : [{ line: i + 2, fields: row.length }],
  );
  if (ragged.length > 0) {
    findings.push({
      severity: 'error',
      code: 'ragged-rows',
      message: `${ragged.length} row(s) have the wrong number of fields: ${ragged
        .slice(0, MAX_REPORTED)
        .map((r) => `row ${r.line} has ${r.fields} fields, the header has ${names.length}`)
        .join('; ')}`,
      rows: ragged.slice(0, MAX_REPORTED).map((r) => r.line),
    });
  }
  if (findings.length > structural) return { delimiter };
  return { table: { header: names, rows }, ...(delimiter ? { delimiter } : {}) };
}

/** JSON Lines: one object per line; the columns are the keys, in order of first appearance. */
function parseJsonLines(text: string, findings: Finding[]): string[][] | undefined {
  const objects: Record<string, unknown>[] = [];
  const bad: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error('not an object');
      objects.push(value as Record<string, unknown>);
    } catch {
      bad.push(i + 1);
    }
  });
  if (bad.length > 0) {
    findings.push({
      severity: 'error',
      code: 'invalid-json-lines',
      message: `${bad.length} line(s) are not JSON objects: lines ${bad.slice(0, MAX_REPORTED).join(', ')}`,
      rows: bad.slice(0, MAX_REPORTED),
    });
    return undefined;
  }
  const header = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const cell = (v: unknown) =>
    v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return [header, ...objects.map((o) => header.map((name) => cell(o[name])))];
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
  private rows = 0;

  constructor(
    private readonly header: readonly string[],
    private readonly options: ColumnOptions,
  ) {
    this.labelIndex = header.indexOf(options.label);
    this.columns = header.map(() => new ColumnStats());
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
      stats.first ??= cell;
      if (Number.isFinite(Number(cell))) stats.numeric++;
      else stats.strays.add(line, cell);
      if (stats.distinct.size < MAX_DISTINCT) stats.distinct.add(cell);
    }
    if (isMissing(label)) this.missingLabel.add(line);
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

/** The whole check of a tabular dataset version: never throws for the data's sake; read `report.valid`. */
export function validateDataset(
  bytes: Uint8Array,
  format: TableFormat,
  manifest: DatasetManifest = {},
): { report: ValidationReport; table?: ParsedTable; schema?: DatasetSchema } {
  const findings: Finding[] = [];
  const { table, delimiter } = parseTable(bytes, format, findings);
  let profile: ReturnType<typeof profileTable> | undefined;
  if (table) {
    let label: string | undefined;
    try {
      label = chooseLabel(table.header, manifest);
    } catch (error) {
      findings.push({ severity: 'error', code: 'label-not-found', message: (error as Error).message });
    }
    if (label !== undefined) {
      profile = profileTable(
        table,
        {
          label,
          ...(manifest.task ? { task: manifest.task } : {}),
          ...(manifest.types ? { types: manifest.types } : {}),
          ...(manifest.ignore ? { ignore: manifest.ignore } : {}),
        },
        findings,
      );
    }
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  const report: ValidationReport = {
    valid: errors === 0,
    format,
    ...(delimiter ? { delimiter } : {}),
    rowCount: table?.rows.length ?? 0,
    columns: profile?.columns ?? [],
    ...(profile?.label ? { label: profile.label } : {}),
    duplicateRows: profile?.duplicateRows ?? 0,
    errors,
    warnings: findings.length - errors,
    findings,
  };
  return {
    report,
    ...(table ? { table } : {}),
    ...(profile?.schema && errors === 0 ? { schema: profile.schema } : {}),
  };
}

/** The error a failed validation raises: the errors in one line, each as a finding. */
export function validationError(report: ValidationReport, where?: string): DatasetValidationError {
  const errors = report.findings.filter((f) => f.severity === 'error').map((f) => f.message);
  const suffix = where ? ` (report: ${where})` : '';
  return new DatasetValidationError(`${errors.join('; ')}${suffix}`, errors);
}

/** Parses a CSV or throws the first structural problems (the training side re-reads a validated file). */
export function parseCsv(bytes: Uint8Array, format: TableFormat = 'csv'): ParsedTable {
  const findings: Finding[] = [];
  const { table } = parseTable(bytes, format, findings);
  const errors = findings.filter((f) => f.severity === 'error').map((f) => f.message);
  if (!table || errors.length > 0) throw new DatasetValidationError(errors.join('; '), errors);
  return table;
}

/** The schema of a parsed table, or a DatasetValidationError with every error finding. */
export function inferSchema(table: ParsedTable, label: string, task?: TaskType): DatasetSchema {
  const findings: Finding[] = [];
  const { schema } = profileTable(table, { label, ...(task ? { task } : {}) }, findings);
  const errors = findings.filter((f) => f.severity === 'error').map((f) => f.message);
  if (!schema || errors.length > 0) throw new DatasetValidationError(errors.join('; '), errors);
  return schema;
}
