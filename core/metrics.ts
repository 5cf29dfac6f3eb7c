/** What a model version is judged by: classification or regression figures on the held-out test split. */
export interface ModelMetrics {
  readonly count: number;
  readonly accuracy?: number;
  readonly macroF1?: number;
  readonly macroPrecision?: number;
  readonly macroRecall?: number;
  /** F1 averaged over the classes weighted by their support. */
  readonly weightedF1?: number;
  /** ROC AUC, one class against the rest, averaged over the classes (from the class probabilities). */
  readonly rocAuc?: number;
  /** Average precision (the area under the precision-recall curve), one against the rest, macro. */
  readonly prAuc?: number;
  /** Cross-entropy of the class probabilities (clipped at 1e-15). */
  readonly logLoss?: number;
  /** Regression, in the target's own units. */
  readonly rmse?: number;
  readonly mae?: number;
  readonly r2?: number;
  /** Mean absolute percentage error, as a fraction (each target's magnitude floored at machine epsilon). */
  readonly mape?: number;
  /** Cross-validation of the training split, when the manifest asked for it: each figure's mean and sd. */
  readonly crossValidation?: {
    readonly folds: number;
    readonly mean: Readonly<Record<string, number>>;
    readonly sd: Readonly<Record<string, number>>;
  };
}

/** One class's figures. */
export interface ClassMetrics {
  readonly class: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Its test rows. */
  readonly support: number;
  /** One against the rest, when probabilities were given. */
  readonly rocAuc?: number;
  readonly prAuc?: number;
}

export interface RegressionMetrics {
  readonly rmse: number;
  readonly mae: number;
  /** Coefficient of determination: 1 is perfect, 0 is predicting the mean. */
  readonly r2: number;
  readonly mape: number;
  /** Quantiles of the residuals (actual − predicted): how far off, and to which side. */
  readonly residuals: {
    readonly p5: number;
    readonly p25: number;
    readonly p50: number;
    readonly p75: number;
    readonly p95: number;
  };
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
  let percentage = 0;
  const residuals = new Float64Array(n);
  actual.forEach((a, i) => {
    const e = a - (predicted[i] as number);
    residuals[i] = e;
    squares += e * e;
    absolute += Math.abs(e);
    percentage += Math.abs(e) / Math.max(Math.abs(a), Number.EPSILON);
    total += (a - mean) ** 2;
  });
  residuals.sort();
  return {
    rmse: Math.sqrt(squares / Math.max(1, n)),
    mae: absolute / Math.max(1, n),
    r2: total > 0 ? 1 - squares / total : 0,
    mape: percentage / Math.max(1, n),
    residuals: {
      p5: quantile(residuals, 0.05),
      p25: quantile(residuals, 0.25),
      p50: quantile(residuals, 0.5),
      p75: quantile(residuals, 0.75),
      p95: quantile(residuals, 0.95),
    },
    count: n,
  };
}

/** The q-quantile of sorted values, interpolated linearly between the closest ranks (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const at = q * (sorted.length - 1);
  const low = Math.floor(at);
  const high = Math.min(low + 1, sorted.length - 1);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (at - low);
}

/** Classification metrics on label indices. */
export interface ClassificationMetrics {
  readonly accuracy: number;
  readonly macroF1: number;
  readonly macroPrecision: number;
  readonly macroRecall: number;
  readonly weightedF1: number;
  readonly weightedPrecision: number;
  readonly weightedRecall: number;
  /** From the class probabilities, when given. */
  readonly rocAuc?: number;
  readonly prAuc?: number;
  readonly logLoss?: number;
  readonly perClass: readonly ClassMetrics[];
  /** `confusionMatrix[actual][predicted]` counts. */
  readonly confusionMatrix: number[][];
  readonly classes: readonly string[];
  readonly count: number;
}

/**
 * Accuracy, per-class precision, recall and F1 (and their macro and support-weighted means) and the confusion
 * matrix of predicted label indices; with each row's class probabilities also ROC AUC and average precision
 * (one class against the rest; macro over the classes that have both positives and negatives) and log loss.
 * A class never predicted has precision 0, as scikit-learn's `zero_division=0`.
 */
export function classificationMetrics(
  actual: readonly number[],
  predicted: readonly number[],
  classes: readonly string[],
  probabilities?: readonly (readonly number[])[],
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
  const perClass: ClassMetrics[] = classes.map((name, c) => {
    const tp = matrix[c]?.[c] ?? 0;
    const fp = matrix.reduce((sum, row, r) => sum + (r === c ? 0 : (row[c] ?? 0)), 0);
    const support = (matrix[c] ?? []).reduce((sum, v) => sum + v, 0);
    const fn = support - tp;
    const scores = probabilities?.map((row) => row[c] ?? 0);
    const positives = actual.map((a) => a === c);
    return {
      class: name,
      precision: tp + fp === 0 ? 0 : tp / (tp + fp),
      recall: support === 0 ? 0 : tp / support,
      f1: tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn),
      support,
      ...(scores && support > 0 && support < actual.length
        ? { rocAuc: rocAuc(positives, scores), prAuc: averagePrecision(positives, scores) }
        : {}),
    };
  });
  const mean = (key: 'precision' | 'recall' | 'f1') =>
    perClass.reduce((sum, m) => sum + m[key], 0) / Math.max(1, k);
  const weighted = (key: 'precision' | 'recall' | 'f1') =>
    perClass.reduce((sum, m) => sum + m[key] * m.support, 0) / Math.max(1, actual.length);
  const ranked = perClass.filter((m) => m.rocAuc !== undefined);
  const macro = (key: 'rocAuc' | 'prAuc') =>
    ranked.length === 0 ? undefined : ranked.reduce((sum, m) => sum + (m[key] as number), 0) / ranked.length;
  const auc = macro('rocAuc');
  const ap = macro('prAuc');
  return {
    accuracy: actual.length === 0 ? 0 : correct / actual.length,
    macroF1: mean('f1'),
    macroPrecision: mean('precision'),
    macroRecall: mean('recall'),
    weightedF1: weighted('f1'),
    weightedPrecision: weighted('precision'),
    weightedRecall: weighted('recall'),
    ...(auc === undefined ? {} : { rocAuc: auc }),
    ...(ap === undefined ? {} : { prAuc: ap }),
    ...(probabilities && actual.length > 0 ? { logLoss: logLoss(actual, probabilities) } : {}),
    perClass,
    confusionMatrix: matrix,
    classes: [...classes],
    count: actual.length,
  };
}

/**
 * The rows ordered by score (ascending or descending), in groups of equal scores: each group's first and last
 * position and how many of it are positives.
 */
function tiedGroups(
  positives: readonly boolean[],
  scores: readonly number[],
  descending: boolean,
): { first: number; last: number; positives: number; size: number }[] {
  const order = scores
    .map((score, i) => ({ score, positive: positives[i] === true }))
    .sort((a, b) => (descending ? b.score - a.score : a.score - b.score));
  const groups = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    let count = 0;
    while (
      j < order.length &&
      (order[j] as { score: number }).score === (order[i] as { score: number }).score
    ) {
      if ((order[j] as { positive: boolean }).positive) count++;
      j++;
    }
    groups.push({ first: i, last: j - 1, positives: count, size: j - i });
    i = j;
  }
  return groups;
}

/** ROC AUC of scores for binary truths: the probability that a positive outranks a negative (ties count half). */
export function rocAuc(positives: readonly boolean[], scores: readonly number[]): number {
  // Mann-Whitney U from the ranks, tied scores given their mean rank.
  let rankSum = 0;
  let npos = 0;
  for (const group of tiedGroups(positives, scores, false)) {
    rankSum += group.positives * ((group.first + group.last) / 2 + 1);
    npos += group.positives;
  }
  const nneg = scores.length - npos;
  if (npos === 0 || nneg === 0) return Number.NaN;
  return (rankSum - (npos * (npos + 1)) / 2) / (npos * nneg);
}

/**
 * Average precision (scikit-learn's): the precision at each threshold weighted by the recall it adds,
 * thresholds at the distinct scores from the highest down.
 */
export function averagePrecision(positives: readonly boolean[], scores: readonly number[]): number {
  const total = positives.filter(Boolean).length;
  if (total === 0) return Number.NaN;
  let tp = 0;
  let seen = 0;
  let previousRecall = 0;
  let sum = 0;
  for (const group of tiedGroups(positives, scores, true)) {
    tp += group.positives;
    seen += group.size;
    const recall = tp / total;
    sum += (recall - previousRecall) * (tp / seen);
    previousRecall = recall;
  }
  return sum;
}

/** Mean cross-entropy of the true class's probability, clipped to [1e-15, 1 − 1e-15], rows renormalised. */
function logLoss(actual: readonly number[], probabilities: readonly (readonly number[])[]): number {
  const eps = 1e-15;
  let sum = 0;
  actual.forEach((a, i) => {
    const row = probabilities[i] ?? [];
    const clipped = row.map((p) => Math.min(1 - eps, Math.max(eps, p)));
    const total = clipped.reduce((x, y) => x + y, 0);
    sum -= Math.log((clipped[a] ?? eps) / total);
  });
  return sum / actual.length;
}

export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** A classifier's figures as the registry keeps them (ModelMetrics): the matrix and per-class figures left out. */
export function classificationFigures(metrics: ClassificationMetrics): ModelMetrics {
  return {
    count: metrics.count,
    accuracy: metrics.accuracy,
    macroF1: metrics.macroF1,
    macroPrecision: metrics.macroPrecision,
    macroRecall: metrics.macroRecall,
    weightedF1: metrics.weightedF1,
    ...(metrics.rocAuc === undefined ? {} : { rocAuc: metrics.rocAuc }),
    ...(metrics.prAuc === undefined ? {} : { prAuc: metrics.prAuc }),
    ...(metrics.logLoss === undefined ? {} : { logLoss: metrics.logLoss }),
  };
}
