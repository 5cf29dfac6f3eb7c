/**
 * Train/validation/test splits, seeded and stratified: by class, or by target quintile for regression. In
 * memory (`stratifiedSplit`, `stratifiedKFold`) or as rows stream by (`splitAssigner`, core/stream-preprocess.ts).
 */
import { createRandom, shuffled } from './random.ts';

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

/** Rows of a stratum of `n` for the test and validation splits: each at least one when the stratum has three. */
function splitSizes(n: number, ratios: SplitRatios): { nTest: number; nValidation: number } {
  const total = ratios.train + ratios.validation + ratios.test;
  const nTest = Math.round((n * ratios.test) / total);
  const nValidation = Math.round((n * ratios.validation) / total);
  return n >= 3
    ? { nTest: Math.max(1, nTest), nValidation: Math.max(1, nValidation) }
    : { nTest, nValidation };
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
  for (const key of [...byClass.keys()].sort()) {
    const members = shuffled(byClass.get(key) ?? [], random);
    const { nTest, nValidation } = splitSizes(members.length, ratios);
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
  const codes = new Map<string, { codes: Uint8Array; next: number }>();
  for (const key of [...counts.keys()].sort()) {
    const n = counts.get(key) as number;
    const { nTest, nValidation } = splitSizes(n, ratios);
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
