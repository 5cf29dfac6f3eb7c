/**
 * Data statistics built one row at a time: per-column moments, extremes, a seeded sample for quantiles and
 * category counts. A dataset version's (or a training split's) `baseline.json` is the reference drift is
 * measured against (core/drift.ts); the preprocessor's fit (core/preprocessor.ts) reads the same statistics.
 */
import type { DatasetSchema, TypedRow } from './dataset.ts';
import { isMissing } from './dataset.ts';
import { createRandom } from './random.ts';

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
export class ColumnAccumulator {
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

/** The value at `q` (0–1) of sorted numbers, interpolated linearly; 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
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
