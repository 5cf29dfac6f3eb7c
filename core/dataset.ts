/**
 * Tabular datasets: the schema, the manifest, label choice and typed rows (parsing and validation are in
 * validation.ts). Pure functions; the caller decides where the bytes come from.
 */
import { createHash } from 'node:crypto';
import { DatasetValidationError } from './errors.ts';
import type { GateSpec } from './model-registry.ts';

export type ColumnType = 'numeric' | 'categorical';
export type TaskType = 'classification' | 'regression';

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
}

/** What a dataset version looks like, inferred from its rows (and the optional manifest). */
export interface DatasetSchema {
  readonly kind: 'tabular';
  readonly task: TaskType;
  readonly label: string;
  /** Feature columns, in file order (the label excluded). */
  readonly features: readonly ColumnSchema[];
  /** Label values, sorted (empty for regression). */
  readonly classes: readonly string[];
  readonly rowCount: number;
}

import type { ValidationSpec } from './cross-validation.ts';
import type { ImageArchitecture } from './hyperparameters.ts';

/** What every image becomes: `height × width × channels` bytes (grayscale or RGB). */
export interface ImageSpec {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  /** The model trained on them: the small CNN (default) or AlexNet (RGB, at least 64 pixels a side). */
  readonly architecture?: ImageArchitecture;
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
  /**
   * A hyperparameter search (core/search-spec.ts): its shape and bounds checked with the manifest
   * (`parseSearchShape`), its names against the architecture when the search is planned (`parseSearchSpec`).
   */
  readonly search?: unknown;
  /** Lowers the platform's training budget for this dataset's jobs (core/budget.ts; never raises it). */
  readonly budget?: { readonly minutes?: number; readonly parameters?: number };
  /** Cross-validation of the training split (core/cross-validation.ts): `{ folds: k }`. */
  readonly validation?: ValidationSpec;
  /** Column types where inference should not decide (e.g. a numeric-looking zip code as categorical). */
  readonly types?: Readonly<Record<string, ColumnType>>;
  /** Columns that are not features (ids, free text). */
  readonly ignore?: readonly string[];
  /** Train/validation/test ratios (default 0.7/0.1/0.2) and the split's seed (default 0). */
  readonly split?: { readonly train: number; readonly validation: number; readonly test: number };
  readonly seed?: number;
  /** The champion/challenger gate for versions trained on this dataset (core/model-registry.ts GateSpec). */
  readonly gate?: GateSpec;
  /** Imputation, scaling and clipping of feature columns (core/preprocessor.ts PreprocessingOptions). */
  readonly preprocessing?: {
    readonly impute?: 'mean' | 'median' | 'most-frequent';
    readonly scale?: 'zscore' | 'minmax' | 'robust' | 'none';
    readonly clip?: 'none' | 'iqr' | 'percentile';
    readonly unknown?: 'error' | 'zeros';
  };
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

/** The runs of a dataset version, oldest first (the first run only, for records written before `runIds`). */
export function runsOfVersion(record: {
  readonly runIds?: readonly string[];
  readonly firstRunId: string;
}): readonly string[] {
  return record.runIds && record.runIds.length > 0 ? record.runIds : [record.firstRunId];
}

export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isMissing(cell: string): boolean {
  return MISSING.has(cell.trim());
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
    else if (feature.type === 'categorical') out[name] = cell;
    else {
      // Stray text in a numeric column was reported at validation; it reads as missing.
      const value = Number(cell);
      out[name] = Number.isFinite(value) ? value : null;
    }
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

/** The rows of a dataset version: its table's rows or its images, once it was registered. */
export function rowsOfVersion(record: { readonly schema?: unknown }): number | undefined {
  const schema = record.schema as { rowCount?: number; imageCount?: number } | undefined;
  return schema?.rowCount ?? schema?.imageCount;
}
