/**
 * Preprocessing a table of any size in memory bounded by its width: three streaming passes over the file.
 * 1. count the rows of each stratum (class, or target quintile for regression);
 * 2. assign each row its split (exactly stratified, seeded) and fit the preprocessor on the training rows;
 * 3. transform every row and write each split as shards of float32 features and labels.
 * I/O is the caller's: `open` re-reads the file, `put` stores a shard.
 */

import { type Baseline, BaselineAccumulator } from './baseline.ts';
import type { DatasetManifest, DatasetSchema, TypedRow } from './dataset.ts';
import { typedRow } from './dataset.ts';
import { DatasetValidationError } from './errors.ts';
import type { ShardedSplit } from './pipeline.ts';
import { encodeLabel, FitAccumulator, type Preprocessor, transformRow } from './preprocessor.ts';
import { DEFAULT_SPLIT, type Split, splitAssigner, strataFromDeciles } from './split.ts';
import { streamRecords, type TableFormat } from './table-reader.ts';

/** Rows per shard: 64k rows of a few dozen features is a few MB. */
export const SHARD_ROWS = 65_536;
/** Held-out rows kept as they were (for clients and tests to send back): the first this many. */
export const TEST_ROWS_KEPT = 1_000;

type SplitName = keyof Split<unknown>;

export interface StreamPreprocessInput {
  readonly open: () => AsyncIterable<Uint8Array>;
  readonly format: TableFormat;
  readonly schema: DatasetSchema;
  readonly manifest?: DatasetManifest;
  /** The dataset version's statistics: its target deciles give the regression strata. */
  readonly datasetBaseline?: Baseline;
  /** Where each split's manifest goes; its shards are `<key>.<n>.bin`. */
  readonly splitKeys: Readonly<Record<SplitName, string>>;
  readonly put: (key: string, bytes: Uint8Array) => Promise<void>;
  readonly shardRows?: number;
}

export interface StreamPreprocessResult {
  readonly preprocessor: Preprocessor;
  readonly counts: Readonly<Record<SplitName, number>>;
  readonly splits: Readonly<Record<SplitName, ShardedSplit>>;
  readonly testRows: readonly TypedRow[];
  readonly trainBaseline: Baseline;
}

/** The typed rows of the file, in file order (rows of the wrong width were refused at validation). */
async function* typedRows(input: StreamPreprocessInput): AsyncGenerator<TypedRow> {
  let header: string[] | undefined;
  for await (const record of streamRecords(input.open(), input.format, [])) {
    if (!header) {
      header = record.map((name) => name.trim());
      continue;
    }
    if (record.length === header.length) yield typedRow(input.schema, header, record);
  }
}

export async function preprocessStream(input: StreamPreprocessInput): Promise<StreamPreprocessResult> {
  const { schema, manifest = {} } = input;
  const label = (row: TypedRow) => String(row[schema.label]);
  let stratum = label;
  if (schema.task === 'regression') {
    let deciles = input.datasetBaseline?.target?.quantiles;
    if (!deciles) {
      const targets = new BaselineAccumulator(schema);
      for await (const row of typedRows(input)) targets.add(row);
      deciles = targets.finish().target?.quantiles ?? [];
    }
    const strata = strataFromDeciles(deciles);
    stratum = (row) => strata(Number(row[schema.label]));
  }

  // 1. Rows per stratum.
  const strata = new Map<string, number>();
  for await (const row of typedRows(input)) strata.set(stratum(row), (strata.get(stratum(row)) ?? 0) + 1);
  const assigner = () => splitAssigner(strata, manifest.split ?? DEFAULT_SPLIT, manifest.seed ?? 0);

  // 2. The split, the fit on the training rows, their statistics, the first held-out rows.
  const fit = new FitAccumulator(schema);
  const trainBaseline = new BaselineAccumulator(schema);
  const counts: Record<SplitName, number> = { train: 0, validation: 0, test: 0 };
  const testRows: TypedRow[] = [];
  let assign = assigner();
  for await (const row of typedRows(input)) {
    const split = assign(stratum(row));
    counts[split]++;
    if (split === 'train') {
      fit.add(row);
      trainBaseline.add(row);
    } else if (split === 'test' && testRows.length < TEST_ROWS_KEPT) testRows.push(row);
  }
  const preprocessor = fit.finish(manifest.preprocessing);
  checkEncodedSize(preprocessor);

  // 3. Every row transformed, into its split's shards.
  const shardRows = input.shardRows ?? SHARD_ROWS;
  const width = preprocessor.width;
  const writers = {
    train: new ShardWriter(input.splitKeys.train, width, shardRows, input.put),
    validation: new ShardWriter(input.splitKeys.validation, width, shardRows, input.put),
    test: new ShardWriter(input.splitKeys.test, width, shardRows, input.put),
  };
  assign = assigner();
  for await (const row of typedRows(input)) {
    await writers[assign(stratum(row))].add(
      transformRow(preprocessor, row),
      encodeLabel(preprocessor, label(row)),
    );
  }
  const manifestOf = async (writer: ShardWriter): Promise<ShardedSplit> => ({
    format: 'shards',
    ...(preprocessor.task === 'regression' ? { task: 'regression' as const } : {}),
    classes: preprocessor.classes,
    width,
    ...(await writer.close()),
  });
  const splits = {
    train: await manifestOf(writers.train),
    validation: await manifestOf(writers.validation),
    test: await manifestOf(writers.test),
  };
  return { preprocessor, counts, splits, testRows, trainBaseline: trainBaseline.finish() };
}

/** Buffers rows of one split and stores them as `<key>.<n>.bin` shards: features, then labels. */
class ShardWriter {
  private features: Float32Array;
  private labels: Float32Array;
  private filled = 0;
  private rows = 0;
  private readonly shards: { key: string; rows: number }[] = [];

  constructor(
    private readonly key: string,
    private readonly width: number,
    private readonly capacity: number,
    private readonly put: (key: string, bytes: Uint8Array) => Promise<void>,
  ) {
    this.features = new Float32Array(capacity * width);
    this.labels = new Float32Array(capacity);
  }

  async add(features: readonly number[], label: number): Promise<void> {
    this.features.set(features, this.filled * this.width);
    this.labels[this.filled] = label;
    this.filled++;
    this.rows++;
    if (this.filled === this.capacity) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.filled === 0) return;
    const n = this.filled;
    const bytes = new Float32Array(n * this.width + n);
    bytes.set(this.features.subarray(0, n * this.width));
    bytes.set(this.labels.subarray(0, n), n * this.width);
    const key = `${this.key}.${this.shards.length}.bin`;
    await this.put(key, new Uint8Array(bytes.buffer));
    this.shards.push({ key, rows: n });
    this.filled = 0;
  }

  async close(): Promise<{ rows: number; shards: { key: string; rows: number }[] }> {
    await this.flush();
    return { rows: this.rows, shards: this.shards };
  }
}

/**
 * The widest a table may be once encoded (every numeric column one value, every categorical one a value per
 * category), and the most characters its categories may have in all: every training row is a vector of that
 * width, and the categories are carried in the model's preprocessor, its schema and its metadata answer.
 */
export const MAX_ENCODED_WIDTH = 100_000;
export const MAX_CATEGORY_TEXT = 4 * 1024 * 1024;

function checkEncodedSize(preprocessor: Preprocessor): void {
  if (preprocessor.width > MAX_ENCODED_WIDTH) {
    throw new DatasetValidationError(
      `the table is ${preprocessor.width.toLocaleString('en-US')} features wide once its categories are one-hot encoded; at most ${MAX_ENCODED_WIDTH.toLocaleString('en-US')} (ignore columns of many categories in the manifest)`,
    );
  }
  let text = 0;
  for (const feature of preprocessor.features) {
    if (feature.type === 'categorical') for (const c of feature.categories) text += c.length;
  }
  if (text > MAX_CATEGORY_TEXT) {
    throw new DatasetValidationError(
      `the categories of the table's columns are ${Math.round(text / 1024)} K characters in all; at most ${MAX_CATEGORY_TEXT / 1024 / 1024} M (ignore free-text columns in the manifest)`,
    );
  }
}
