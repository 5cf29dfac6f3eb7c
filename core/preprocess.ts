/**
 * Feature preprocessing, fitted on the training split and applied by the very same code at serving time.
 * `preprocessor.json` is the serialized `Preprocessor`; `transformRow` is the one function that turns a
 * typed row into a feature vector, wherever it runs.
 */
import {
  type ColumnSchema,
  type DatasetSchema,
  type ImageSpec,
  isMissing,
  type TypedRow,
} from './dataset.ts';
import { createRandom, shuffled } from './random.ts';

/**
 * A numeric column: a missing cell becomes `impute`; the value is clipped to `clip` (when set), then scaled
 * as (x − center) / scale. Files written before these fields existed have only `mean` and `std`: impute and
 * centre at the mean, scale by the standard deviation.
 */
export interface NumericFeature {
  readonly name: string;
  readonly type: 'numeric';
  /** Training mean and standard deviation (statistics; the transform uses the fields below). */
  readonly mean: number;
  readonly std: number;
  readonly impute?: number;
  readonly center?: number;
  readonly scale?: number;
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
   * as in training. Absent in preprocessors written before the choice existed: `zeros`.
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
  /** Absent in files written before image models existed. */
  readonly kind?: 'tabular';
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
      let x = typeof value === 'number' ? value : (feature.impute ?? feature.mean);
      if (feature.clip) x = Math.min(feature.clip[1], Math.max(feature.clip[0], x));
      out.push((x - (feature.center ?? feature.mean)) / (feature.scale ?? feature.std));
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

/**
 * Strata for splitting a regression dataset: the targets' quintiles, so every split spans the range as
 * stratified classes do.
 */
export function targetStrata(targets: readonly number[], bins = 5): (target: number) => string {
  const sorted = [...targets].sort((a, b) => a - b);
  const edges = Array.from(
    { length: bins - 1 },
    (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / bins)] as number,
  );
  return (target) => `q${edges.filter((edge) => target >= edge).length}`;
}

export interface SplitRatios {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

export const DEFAULT_SPLIT: SplitRatios = { train: 0.7, validation: 0.1, test: 0.2 };

export interface Split<T> {
  readonly train: T[];
  readonly validation: T[];
  readonly test: T[];
}

/**
 * Seeded stratified split: every class is shuffled and cut by the ratios, so each split keeps the class
 * balance. Each class with at least three rows gives at least one row to every split.
 */
export function stratifiedSplit<T>(
  items: readonly T[],
  classOf: (item: T) => string,
  ratios: SplitRatios = DEFAULT_SPLIT,
  seed = 0,
): Split<T> {
  const random = createRandom(seed);
  const byClass = new Map<string, T[]>();
  for (const item of items) {
    const key = classOf(item);
    const bucket = byClass.get(key) ?? [];
    bucket.push(item);
    byClass.set(key, bucket);
  }
  const split: Split<T> = { train: [], validation: [], test: [] };
  const total = ratios.train + ratios.validation + ratios.test;
  for (const key of [...byClass.keys()].sort()) {
    const members = shuffled(byClass.get(key) ?? [], random);
    const n = members.length;
    let nTest = Math.round((n * ratios.test) / total);
    let nValidation = Math.round((n * ratios.validation) / total);
    if (n >= 3) {
      nTest = Math.max(1, nTest);
      nValidation = Math.max(1, nValidation);
    }
    // A loop, not push(...slice): a spread of a million rows overflows the call stack.
    members.forEach((member, i) => {
      (i < nTest ? split.test : i < nTest + nValidation ? split.validation : split.train).push(member);
    });
  }
  return { train: shuffled(split.train, random), validation: split.validation, test: split.test };
}

/**
 * Seeded stratified k-fold: every item in exactly one validation fold, each class spread evenly over the
 * folds (cross-validation of small datasets).
 */
export function stratifiedKFold<T>(
  items: readonly T[],
  classOf: (item: T) => string,
  k: number,
  seed = 0,
): { train: T[]; validation: T[] }[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k-fold needs a whole k of at least 2, got ${k}`);
  const random = createRandom(seed);
  const byClass = new Map<string, T[]>();
  for (const item of items) {
    const members = byClass.get(classOf(item)) ?? [];
    members.push(item);
    byClass.set(classOf(item), members);
  }
  const folds = Array.from({ length: k }, () => [] as T[]);
  let next = 0;
  for (const key of [...byClass.keys()].sort()) {
    for (const item of shuffled(byClass.get(key) ?? [], random)) {
      (folds[next % k] as T[]).push(item);
      next++;
    }
  }
  return folds.map((validation, i) => ({
    train: folds.flatMap((fold, j) => (j === i ? [] : fold)),
    validation,
  }));
}

/**
 * Assigns rows to train/validation/test as they stream by, stratified exactly: each stratum (of `counts`
 * rows) gets the split sizes `stratifiedSplit` gives it, as a seeded shuffle of split codes taken in row order.
 * The same counts and seed give the same assignment, pass after pass.
 */
export function splitAssigner(
  counts: ReadonlyMap<string, number>,
  ratios: SplitRatios = DEFAULT_SPLIT,
  seed = 0,
): (stratum: string) => keyof Split<unknown> {
  const random = createRandom(seed);
  const total = ratios.train + ratios.validation + ratios.test;
  const codes = new Map<string, { codes: Uint8Array; next: number }>();
  for (const key of [...counts.keys()].sort()) {
    const n = counts.get(key) as number;
    let nTest = Math.round((n * ratios.test) / total);
    let nValidation = Math.round((n * ratios.validation) / total);
    if (n >= 3) {
      nTest = Math.max(1, nTest);
      nValidation = Math.max(1, nValidation);
    }
    const array = new Uint8Array(n);
    array.fill(2, 0, nTest);
    array.fill(1, nTest, nTest + nValidation);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const a = array[i] as number;
      array[i] = array[j] as number;
      array[j] = a;
    }
    codes.set(key, { codes: array, next: 0 });
  }
  const names = ['train', 'validation', 'test'] as const;
  return (stratum) => {
    const entry = codes.get(stratum);
    if (!entry || entry.next >= entry.codes.length)
      throw new RangeError(`stratum "${stratum}" has more rows than counted`);
    return names[entry.codes[entry.next++] as number] as keyof Split<unknown>;
  };
}

/** Regression strata from a baseline's deciles of the target: its quintiles. */
export function strataFromDeciles(deciles: readonly number[]): (target: number) => string {
  const edges = [deciles[2], deciles[4], deciles[6], deciles[8]].filter((e): e is number => e !== undefined);
  return (target) => `q${edges.filter((edge) => target >= edge).length}`;
}

export interface NumericBaseline {
  readonly count: number;
  readonly missing: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Deciles: the 0th, 10th, …, 100th percentiles. */
  readonly quantiles: readonly number[];
  /** Ten equal-width bins from min to max: 11 edges, 10 counts. */
  readonly histogram: { readonly edges: readonly number[]; readonly counts: readonly number[] };
}

export interface Baseline {
  readonly rowCount: number;
  readonly numeric: Record<string, NumericBaseline>;
  readonly categorical: Record<string, Record<string, number>>;
  /** Class frequencies (classification). */
  readonly label: Record<string, number>;
  /** The target's distribution (regression). */
  readonly target?: NumericBaseline;
}

/** Values kept per numeric column for quantiles and histograms: exact below this many, a sample above. */
export const BASELINE_SAMPLE = 10_000;
/** Categories counted per column; rarer ones beyond this many are counted as `<other>`. */
const BASELINE_CATEGORIES = 1_000;

/** Streaming statistics of one column: moments, extremes, a seeded reservoir sample, category counts. */
class ColumnAccumulator {
  count = 0;
  cells = 0;
  private mean = 0;
  private m2 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly sample: number[] = [];
  private readonly categories = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  add(cell: number | string | null | undefined): void {
    this.cells++;
    const value =
      typeof cell === 'number'
        ? cell
        : typeof cell === 'string' && cell.trim() !== ''
          ? Number(cell)
          : Number.NaN;
    const category = cell === null || cell === undefined ? '<missing>' : String(cell);
    const known = this.categories.get(category);
    if (known !== undefined || this.categories.size < BASELINE_CATEGORIES)
      this.categories.set(category, (known ?? 0) + 1);
    else this.categories.set('<other>', (this.categories.get('<other>') ?? 0) + 1);
    if (!Number.isFinite(value) || (typeof cell === 'string' && isMissing(cell))) return;
    this.count++;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.sample.length < BASELINE_SAMPLE) this.sample.push(value);
    else {
      const j = Math.floor(this.random() * this.count);
      if (j < BASELINE_SAMPLE) this.sample[j] = value;
    }
  }

  /** Moments and extremes of the numbers seen, and the sorted sample (all of them, below the sample size). */
  summary(): { count: number; mean: number; std: number; min: number; max: number; sorted: number[] } {
    const has = this.count > 0;
    return {
      count: this.count,
      mean: has ? this.mean : 0,
      std: has ? Math.sqrt(this.m2 / this.count) : 0,
      min: has ? this.min : 0,
      max: has ? this.max : 0,
      sorted: [...this.sample].sort((a, b) => a - b),
    };
  }

  /** Counts of the text values seen (missing cells and the overflow bucket left out). */
  categoryCounts(): Map<string, number> {
    return new Map([...this.categories].filter(([c]) => c !== '<missing>' && c !== '<other>'));
  }

  numeric(): NumericBaseline {
    const sorted = [...this.sample].sort((a, b) => a - b);
    const [min, max] = this.count > 0 ? [this.min, this.max] : [0, 0];
    const width = (max - min) / 10;
    const edges = Array.from({ length: 11 }, (_, i) => min + i * width);
    const counts = new Array<number>(10).fill(0);
    for (const v of sorted) {
      const bin = width > 0 ? Math.min(9, Math.floor((v - min) / width)) : 0;
      counts[bin] = (counts[bin] as number) + 1;
    }
    // Above the sample size the histogram is the sample's, scaled to the count.
    const scale = sorted.length > 0 ? this.count / sorted.length : 0;
    return {
      count: this.count,
      missing: this.cells - this.count,
      mean: this.count > 0 ? this.mean : 0,
      std: this.count > 0 ? Math.sqrt(this.m2 / this.count) : 0,
      min,
      max,
      quantiles: Array.from({ length: 11 }, (_, i) => quantile(sorted, i / 10)),
      histogram: { edges, counts: scale === 1 ? counts : counts.map((n) => Math.round(n * scale)) },
    };
  }

  frequencies(): Record<string, number> {
    return Object.fromEntries(this.categories);
  }
}

/**
 * Baseline statistics built one row at a time, in memory bounded by the table's width: what a file of any
 * length can be summarized with as it streams by. Rows are typed rows or raw cells by column name.
 */
export class BaselineAccumulator {
  private readonly columns = new Map<string, ColumnAccumulator>();
  private rows = 0;

  constructor(
    private readonly schema: DatasetSchema,
    seed = 0,
  ) {
    const random = createRandom(seed + 17);
    for (const name of [...schema.features.map((f) => f.name), schema.label]) {
      this.columns.set(name, new ColumnAccumulator(random));
    }
  }

  add(row: Readonly<Record<string, number | string | null | undefined>>): void {
    this.rows++;
    for (const [name, column] of this.columns) column.add(row[name]);
  }

  finish(): Baseline {
    return this.finishAs(this.schema);
  }

  /**
   * The statistics read with another schema's types and task: a streaming pass summarizes every column as
   * both number and text before the column types are known.
   */
  finishAs(schema: DatasetSchema): Baseline {
    const numeric: Record<string, NumericBaseline> = {};
    const categorical: Record<string, Record<string, number>> = {};
    for (const feature of schema.features) {
      const column = this.columns.get(feature.name) as ColumnAccumulator;
      if (feature.type === 'numeric') numeric[feature.name] = column.numeric();
      else categorical[feature.name] = column.frequencies();
    }
    const label = this.columns.get(schema.label) as ColumnAccumulator;
    if (schema.task === 'regression') {
      return { rowCount: this.rows, numeric, categorical, label: {}, target: label.numeric() };
    }
    return { rowCount: this.rows, numeric, categorical, label: label.frequencies() };
  }
}

/** Data statistics (of a dataset version, or of a training split): the reference drift is measured against. */
export function baselineStatistics(schema: DatasetSchema, rows: readonly TypedRow[]): Baseline {
  const baseline = new BaselineAccumulator(schema);
  for (const row of rows) baseline.add(row);
  return baseline.finish();
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (position - low);
}

function frequencies(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
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

/** Training images' statistics, the reference for drift: pixel mean and spread, class frequencies. */
export interface ImageBaseline {
  readonly kind: 'image';
  readonly imageCount: number;
  readonly pixelMean: number;
  readonly pixelStd: number;
  readonly label: Record<string, number>;
}

export function imageBaseline(images: readonly Uint8Array[], labels: readonly string[]): ImageBaseline {
  let sum = 0;
  let squares = 0;
  let n = 0;
  for (const pixels of images) {
    for (const value of pixels) {
      const v = value / 255;
      sum += v;
      squares += v * v;
    }
    n += pixels.length;
  }
  const mean = n > 0 ? sum / n : 0;
  return {
    kind: 'image',
    imageCount: images.length,
    pixelMean: mean,
    pixelStd: n > 0 ? Math.sqrt(Math.max(0, squares / n - mean * mean)) : 0,
    label: frequencies(labels),
  };
}
