/**
 * Feature preprocessing, fitted on the training split and applied by the very same code at serving time.
 * `preprocessor.json` is the serialized `Preprocessor`; `transformRow` is the one function that turns a
 * typed row into a feature vector, wherever it runs.
 */
import { ColumnAccumulator, quantile } from './baseline.ts';
import type { ColumnSchema, DatasetSchema, ImageSpec, TypedRow } from './dataset.ts';
import { createRandom } from './random.ts';

/**
 * A numeric column: a missing cell becomes `impute`; the value is clipped to `clip` (when set), then scaled
 * as (x − center) / scale.
 */
export interface NumericFeature {
  readonly name: string;
  readonly type: 'numeric';
  /** Training mean and standard deviation (statistics; the transform uses the fields below). */
  readonly mean: number;
  readonly std: number;
  readonly impute: number;
  readonly center: number;
  readonly scale: number;
  readonly clip?: readonly [number, number];
}

export interface CategoricalFeature {
  readonly name: string;
  readonly type: 'categorical';
  /** One-hot columns, in this order. */
  readonly categories: readonly string[];
  /**
   * A category not seen in training. In training and evaluation it is always all zeros (as a missing cell is,
   * unless `impute` names a category); at serving, `error` answers 400 naming the field, `zeros` encodes it
   * as in training.
   */
  readonly unknown: 'zeros' | 'error';
  /** The category a missing cell takes (most-frequent imputation); absent: a missing cell is all zeros. */
  readonly impute?: string;
}

/** How numeric and categorical columns are fitted (the manifest's `preprocessing`). */
export interface PreprocessingOptions {
  /** The value of a missing cell: numeric columns by mean or median, any column by most frequent. */
  readonly impute?: 'mean' | 'median' | 'most-frequent';
  readonly scale?: 'zscore' | 'minmax' | 'robust' | 'none';
  /** Outliers clipped to Tukey's fences (1.5 IQR beyond the quartiles) or to the 1st–99th percentiles. */
  readonly clip?: 'none' | 'iqr' | 'percentile';
  /** A category the training split never had, sent to the predict API: a 400 (`error`) or all zeros. */
  readonly unknown?: 'error' | 'zeros';
}

export const PREPROCESSING_CHOICES = {
  impute: ['mean', 'median', 'most-frequent'],
  scale: ['zscore', 'minmax', 'robust', 'none'],
  clip: ['none', 'iqr', 'percentile'],
  unknown: ['error', 'zeros'],
} as const;

export type FeatureTransform = NumericFeature | CategoricalFeature;

export interface Preprocessor {
  readonly version: 1;
  readonly kind: 'tabular';
  /** Absent for classification. */
  readonly task?: 'regression';
  /** Regression: the training targets' mean and spread; the model learns and predicts standardized targets. */
  readonly target?: { readonly mean: number; readonly std: number };
  readonly label: string;
  readonly classes: readonly string[];
  readonly features: readonly FeatureTransform[];
  /** Width of the feature vector `transformRow` returns. */
  readonly width: number;
}

/**
 * The fit of a preprocessor, one training row at a time, in memory bounded by the table's width: exact
 * moments and extremes; medians, quartiles and percentiles from a seeded sample of 10,000 values per column
 * (exact below that); up to 1,000 categories per column.
 */
export class FitAccumulator {
  private readonly columns = new Map<string, ColumnAccumulator>();
  private readonly target: ColumnAccumulator;

  constructor(private readonly schema: DatasetSchema) {
    const random = createRandom(29);
    for (const feature of schema.features) this.columns.set(feature.name, new ColumnAccumulator(random));
    this.target = new ColumnAccumulator(random);
  }

  add(row: TypedRow): void {
    for (const [name, column] of this.columns) column.add(row[name]);
    if (this.schema.task === 'regression') this.target.add(Number(row[this.schema.label]));
  }

  finish(options: PreprocessingOptions = {}): Preprocessor {
    const { schema } = this;
    const features = schema.features.map(
      (column): FeatureTransform =>
        fitFeature(column, this.columns.get(column.name) as ColumnAccumulator, options),
    );
    const width = features.reduce((sum, f) => sum + (f.type === 'numeric' ? 1 : f.categories.length), 0);
    const base = {
      version: 1,
      kind: 'tabular',
      label: schema.label,
      classes: [...schema.classes],
      features,
      width,
    } as const;
    if (schema.task !== 'regression') return base;
    const { mean, std } = this.target.summary();
    return { ...base, task: 'regression', target: { mean, std: std > 1e-12 ? std : 1 } };
  }
}

/** Fits the transforms on the training rows only. */
export function fitPreprocessor(
  schema: DatasetSchema,
  train: readonly TypedRow[],
  options: PreprocessingOptions = {},
): Preprocessor {
  const fit = new FitAccumulator(schema);
  for (const row of train) fit.add(row);
  return fit.finish(options);
}

function fitFeature(
  column: ColumnSchema,
  stats: ColumnAccumulator,
  options: PreprocessingOptions,
): FeatureTransform {
  if (column.type === 'numeric') {
    const { mean, std: spread, sorted } = stats.summary();
    const std = spread > 1e-12 ? spread : 1;
    const median = quantile(sorted, 0.5);
    const [q1, q3] = [quantile(sorted, 0.25), quantile(sorted, 0.75)];
    const impute =
      options.impute === 'median'
        ? median
        : options.impute === 'most-frequent'
          ? (mostFrequent(sorted) ?? mean)
          : mean;
    const clip: readonly [number, number] | undefined =
      options.clip === 'iqr'
        ? [q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)]
        : options.clip === 'percentile'
          ? [quantile(sorted, 0.01), quantile(sorted, 0.99)]
          : undefined;
    const positive = (x: number) => (x > 1e-12 ? x : 1);
    const { min, max } = stats.summary();
    const [center, scale] =
      options.scale === 'minmax'
        ? [min, positive(max - min)]
        : options.scale === 'robust'
          ? [median, positive(q3 - q1)]
          : options.scale === 'none'
            ? [0, 1]
            : [mean, std];
    return {
      name: column.name,
      type: 'numeric',
      mean,
      std,
      impute,
      center,
      scale,
      ...(clip ? { clip } : {}),
    };
  }
  const counts = stats.categoryCounts();
  const categories = [...counts.keys()].sort();
  let impute: string | undefined;
  if (options.impute === 'most-frequent') {
    for (const category of categories) {
      if (impute === undefined || (counts.get(category) as number) > (counts.get(impute) as number))
        impute = category;
    }
  }
  return {
    name: column.name,
    type: 'categorical',
    categories,
    unknown: options.unknown ?? 'error',
    ...(impute === undefined ? {} : { impute }),
  };
}

/** The commonest value (the smallest, for a tie), or undefined for none. */
function mostFrequent<T extends string | number>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  for (const [v, n] of counts) {
    const current = best === undefined ? 0 : (counts.get(best) as number);
    if (n > current || (n === current && best !== undefined && v < best)) best = v;
  }
  return best;
}

/**
 * Row → feature vector: numbers imputed, clipped and scaled; categories one-hot (unknown → zeros). The one
 * function training and serving both run.
 */
export function transformRow(pre: Preprocessor, row: TypedRow): number[] {
  const out: number[] = [];
  for (const feature of pre.features) {
    const value = row[feature.name];
    if (feature.type === 'numeric') {
      let x = typeof value === 'number' ? value : feature.impute;
      if (feature.clip) x = Math.min(feature.clip[1], Math.max(feature.clip[0], x));
      out.push((x - feature.center) / feature.scale);
    } else {
      const category = typeof value === 'string' ? value : feature.impute;
      for (const c of feature.categories) out.push(category === c ? 1 : 0);
    }
  }
  return out;
}

/** A label as the model learns it: a class index, or (regression) the standardized target. */
export function encodeLabel(pre: Preprocessor, value: string): number {
  if (pre.target) return (Number(value) - pre.target.mean) / pre.target.std;
  const index = pre.classes.indexOf(value);
  if (index < 0) throw new RangeError(`label value "${value}" is not one of the classes`);
  return index;
}

/** A regression model's output back in the target's units. */
export function decodeTarget(pre: Preprocessor, output: number): number {
  return pre.target ? output * pre.target.std + pre.target.mean : output;
}

/** `preprocessor.json` of an image model: decode to the spec (core/image.ts), then `imageInput`. */
export interface ImagePreprocessor {
  readonly version: 1;
  readonly kind: 'image';
  readonly label: 'label';
  readonly classes: readonly string[];
  readonly image: ImageSpec;
  /** Values per sample: height × width × channels. */
  readonly width: number;
}

export type AnyPreprocessor = Preprocessor | ImagePreprocessor;

export function isImagePreprocessor(pre: AnyPreprocessor): pre is ImagePreprocessor {
  return pre.kind === 'image';
}

export function imagePreprocessor(classes: readonly string[], image: ImageSpec): ImagePreprocessor {
  return { version: 1, kind: 'image', label: 'label', classes: [...classes], image, width: imageSize(image) };
}

export function imageSize(spec: ImageSpec): number {
  return spec.width * spec.height * spec.channels;
}

/** Decoded pixels → model input values in [0, 1], written at `offset` of `out`. */
export function imageInput(pixels: Uint8Array, out: Float32Array, offset = 0): void {
  for (let i = 0; i < pixels.length; i++) out[offset + i] = (pixels[i] as number) / 255;
}
