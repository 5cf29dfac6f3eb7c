/** What a model version is judged by: classification or regression figures on the held-out test split. */
export interface ModelMetrics {
  readonly count: number;
  readonly accuracy?: number;
  readonly macroF1?: number;
  /** Regression, in the target's own units. */
  readonly rmse?: number;
  readonly mae?: number;
  readonly r2?: number;
}

export interface RegressionMetrics {
  readonly rmse: number;
  readonly mae: number;
  /** Coefficient of determination: 1 is perfect, 0 is predicting the mean. */
  readonly r2: number;
  readonly count: number;
}

export function regressionMetrics(
  actual: readonly number[],
  predicted: readonly number[],
): RegressionMetrics {
  if (actual.length !== predicted.length) {
    throw new RangeError(`${actual.length} targets but ${predicted.length} predictions`);
  }
  const n = actual.length;
  const mean = actual.reduce((a, b) => a + b, 0) / Math.max(1, n);
  let squares = 0;
  let absolute = 0;
  let total = 0;
  actual.forEach((a, i) => {
    const e = a - (predicted[i] as number);
    squares += e * e;
    absolute += Math.abs(e);
    total += (a - mean) ** 2;
  });
  return {
    rmse: Math.sqrt(squares / Math.max(1, n)),
    mae: absolute / Math.max(1, n),
    r2: total > 0 ? 1 - squares / total : 0,
    count: n,
  };
}

/** Classification metrics on label indices. */
export interface ClassificationMetrics {
  readonly accuracy: number;
  readonly macroF1: number;
  /** `confusionMatrix[actual][predicted]` counts. */
  readonly confusionMatrix: number[][];
  readonly classes: readonly string[];
  readonly count: number;
}

export function classificationMetrics(
  actual: readonly number[],
  predicted: readonly number[],
  classes: readonly string[],
): ClassificationMetrics {
  if (actual.length !== predicted.length) {
    throw new RangeError(`${actual.length} labels but ${predicted.length} predictions`);
  }
  const k = classes.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  actual.forEach((a, i) => {
    const p = predicted[i] as number;
    const row = matrix[a];
    if (row) row[p] = (row[p] ?? 0) + 1;
    if (a === p) correct++;
  });
  const f1s = classes.map((_, c) => {
    const tp = matrix[c]?.[c] ?? 0;
    const fp = matrix.reduce((sum, row, r) => sum + (r === c ? 0 : (row[c] ?? 0)), 0);
    const fn = (matrix[c] ?? []).reduce((sum, v, p) => sum + (p === c ? 0 : v), 0);
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return {
    accuracy: actual.length === 0 ? 0 : correct / actual.length,
    macroF1: f1s.reduce((a, b) => a + b, 0) / Math.max(1, k),
    confusionMatrix: matrix,
    classes: [...classes],
    count: actual.length,
  };
}

export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}
