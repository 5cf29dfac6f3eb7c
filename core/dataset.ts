/**
 * Tabular datasets: parsing, label choice, schema inference and validation.
 * Pure functions over bytes and strings; the caller decides where the bytes come from.
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { DatasetValidationError } from './errors.ts';

export type ColumnType = 'numeric' | 'categorical';
export type TaskType = 'classification' | 'regression';

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
}

/** What a dataset version looks like, inferred from its rows (and the optional manifest). */
export interface DatasetSchema {
  /** Absent in records written before image datasets existed. */
  readonly kind?: 'tabular';
  readonly task: TaskType;
  readonly label: string;
  /** Feature columns, in file order (the label excluded). */
  readonly features: readonly ColumnSchema[];
  /** Label values, sorted (empty for regression). */
  readonly classes: readonly string[];
  readonly rowCount: number;
}

/** What every image becomes: `height × width × channels` bytes (grayscale or RGB). */
export interface ImageSpec {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

/** The optional `datasets/<name>/dataset.json`. */
export interface DatasetManifest {
  readonly label?: string;
  /** Default: regression when every label is a number and there are more than 20 distinct ones. */
  readonly task?: TaskType;
  /** Image datasets: the size and colour every image is decoded to (default: from the first image). */
  readonly image?: ImageSpec;
  /** Overrides of the default hyperparameters (checked against the architecture at preprocessing). */
  readonly hyperparameters?: Readonly<Record<string, unknown>>;
  /** A hyperparameter search (core/search.ts `parseSearchSpec`), checked when the search is planned. */
  readonly search?: unknown;
}

export interface ParsedTable {
  readonly header: readonly string[];
  /** Data rows as strings, each as long as the header. */
  readonly rows: readonly (readonly string[])[];
}

/** A row with numeric cells parsed (`null` for a missing value) and categorical cells as strings. */
export type TypedRow = Record<string, number | string | null>;

/** Values that mean "missing" in a cell. */
const MISSING = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?']);
/** The fewest rows of each class: one for each of train, validation and test. */
export const MIN_ROWS_PER_CLASS = 3;
/** The fewest rows of a dataset. */
export const MIN_ROWS = 10;
const LABEL_NAMES = ['label', 'target', 'class'];
const MAX_REPORTED = 10;

export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isMissing(cell: string): boolean {
  return MISSING.has(cell.trim());
}

/** Parses a CSV with a header row. Rows of the wrong length are reported with their line numbers. */
export function parseCsv(bytes: Uint8Array): ParsedTable {
  if (bytes.byteLength === 0) throw new DatasetValidationError('the file is empty');
  const text = decodeUtf8(bytes);
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new DatasetValidationError(`the file is not valid CSV: ${(error as Error).message}`);
  }
  const [header, ...rows] = records;
  if (!header) throw new DatasetValidationError('the file has no header row');
  const names = header.map((name) => name.trim());
  const blank = names.indexOf('');
  if (blank >= 0) throw new DatasetValidationError(`header column ${blank + 1} has no name`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new DatasetValidationError(`the header names column "${name}" twice`);
    seen.add(name);
  }
  if (names.length < 2) {
    throw new DatasetValidationError('the file needs at least two columns: one feature and a label');
  }
  if (names.every((name) => !Number.isNaN(Number(name)))) {
    throw new DatasetValidationError('the first row looks like data, not a header: every name is a number');
  }
  if (rows.length === 0) throw new DatasetValidationError('the file has a header but no data rows');
  const ragged: string[] = [];
  rows.forEach((row, index) => {
    if (row.length !== names.length) {
      ragged.push(`row ${index + 2} has ${row.length} fields, the header has ${names.length}`);
    }
  });
  if (ragged.length > 0) {
    throw new DatasetValidationError(
      `${ragged.length} row(s) have the wrong number of fields: ${ragged.slice(0, MAX_REPORTED).join('; ')}`,
      ragged,
    );
  }
  return { header: names, rows };
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.includes('\u0000')) throw new Error('NUL byte');
    return text;
  } catch {
    throw new DatasetValidationError('the file is not UTF-8 text (binary or another encoding)');
  }
}

/** The manifest's label, else a column named label/target/class, else the last column. */
export function chooseLabel(header: readonly string[], manifest: DatasetManifest = {}): string {
  if (manifest.label !== undefined) {
    if (!header.includes(manifest.label)) {
      throw new DatasetValidationError(
        `the manifest names label column "${manifest.label}", which is not in the header (${header.join(', ')})`,
      );
    }
    return manifest.label;
  }
  const named = header.find((name) => LABEL_NAMES.includes(name.toLowerCase()));
  return named ?? (header[header.length - 1] as string);
}

/** Distinct numeric labels above which a dataset is taken for regression (unless the manifest says). */
export const REGRESSION_DISTINCT_LABELS = 20;

/** Infers column types and the task, checks the rows can train a model of it, and returns the schema. */
export function inferSchema(table: ParsedTable, label: string, requestedTask?: TaskType): DatasetSchema {
  const labelIndex = table.header.indexOf(label);
  if (labelIndex < 0) throw new DatasetValidationError(`label column "${label}" is not in the header`);
  const findings: string[] = [];

  const missingLabel = table.rows.flatMap((row, i) => (isMissing(row[labelIndex] ?? '') ? [i + 2] : []));
  if (missingLabel.length > 0) {
    findings.push(
      `label "${label}" is missing in ${missingLabel.length} row(s): rows ${missingLabel.slice(0, MAX_REPORTED).join(', ')}`,
    );
  }

  const features: ColumnSchema[] = [];
  table.header.forEach((name, column) => {
    if (column === labelIndex) return;
    const present = table.rows.map((row) => row[column] ?? '').filter((cell) => !isMissing(cell));
    if (present.length === 0) {
      findings.push(`column "${name}" has no values`);
      return;
    }
    const numeric = present.every((cell) => Number.isFinite(Number(cell)));
    features.push({ name, type: numeric ? 'numeric' : 'categorical' });
  });

  const counts = new Map<string, number>();
  for (const row of table.rows) {
    const value = row[labelIndex] ?? '';
    if (!isMissing(value)) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  const values = [...counts.keys()];
  const numericLabel = values.length > 0 && values.every((v) => Number.isFinite(Number(v)));
  const task: TaskType =
    requestedTask ??
    (numericLabel && values.length > REGRESSION_DISTINCT_LABELS ? 'regression' : 'classification');
  if (task === 'regression') {
    if (!numericLabel) {
      const bad = values.find((v) => !Number.isFinite(Number(v)));
      findings.push(`regression needs a numeric label; "${label}" has the value ${JSON.stringify(bad)}`);
    }
    if (table.rows.length < MIN_ROWS) {
      findings.push(`the dataset has ${table.rows.length} rows; at least ${MIN_ROWS} are needed`);
    }
    if (features.length === 0 && findings.length === 0)
      findings.push('there is no feature column besides the label');
    if (findings.length > 0) throw new DatasetValidationError(findings.join('; '), findings);
    return { kind: 'tabular', task, label, features, classes: [], rowCount: table.rows.length };
  }
  const classes = values.sort();
  if (table.rows.length < MIN_ROWS) {
    findings.push(`the dataset has ${table.rows.length} rows; at least ${MIN_ROWS} are needed`);
  }
  if (classes.length < 2) {
    findings.push(`label "${label}" has ${classes.length} distinct value(s); a classifier needs at least 2`);
  }
  const rare = classes.filter((c) => (counts.get(c) ?? 0) < MIN_ROWS_PER_CLASS);
  if (rare.length > 0 && classes.length >= 2) {
    findings.push(
      `class(es) ${rare.map((c) => `"${c}" (${counts.get(c)} rows)`).join(', ')} have fewer than ${MIN_ROWS_PER_CLASS} rows`,
    );
  }
  if (features.length === 0 && findings.length === 0)
    findings.push('there is no feature column besides the label');
  if (findings.length > 0) throw new DatasetValidationError(findings.join('; '), findings);

  return { kind: 'tabular', task, label, features, classes, rowCount: table.rows.length };
}

/** Parses one CSV row into typed cells per the schema (label kept as a string). */
export function typedRow(schema: DatasetSchema, header: readonly string[], row: readonly string[]): TypedRow {
  const out: TypedRow = {};
  const features = featureIndex(schema);
  header.forEach((name, column) => {
    const cell = row[column] ?? '';
    const feature = features.get(name);
    if (name === schema.label) out[name] = cell;
    else if (!feature) return;
    else if (isMissing(cell)) out[name] = null;
    else out[name] = feature.type === 'numeric' ? Number(cell) : cell;
  });
  return out;
}

const featureIndexes = new WeakMap<DatasetSchema, Map<string, ColumnSchema>>();

/** Feature columns by name, built once per schema. */
function featureIndex(schema: DatasetSchema): Map<string, ColumnSchema> {
  let index = featureIndexes.get(schema);
  if (!index) {
    index = new Map(schema.features.map((f) => [f.name, f]));
    featureIndexes.set(schema, index);
  }
  return index;
}
