/**
 * Hyperparameter search over a declared space: grid, random, and Bayesian (a tree-structured Parzen
 * estimator, TPE). Pure and seeded: the same spec and the same results suggest the same trials, so a search
 * that is resumed or replayed plans what it planned before.
 *
 * The pipeline runs a search in rounds: a round's trials train in parallel (a Map state), their validation
 * scores come back, and the next round is planned from every score so far.
 */
import { checkBound, checkHyperparameter, HYPERPARAMETER_BOUNDS, MANIFEST_BOUNDS } from './bounds.ts';
import { countParameters, type ModelInput, SIZE_HYPERPARAMETERS } from './budget.ts';
import { DatasetValidationError } from './errors.ts';
import { type ModelHyperparameters, withOverrides } from './hyperparameters.ts';
import { createRandom, type Random } from './random.ts';

/** One dimension of a search space, as a manifest declares it. */
export type ParameterSpace =
  | { readonly uniform: readonly [number, number] }
  | { readonly logUniform: readonly [number, number] }
  | { readonly int: readonly [number, number] }
  | { readonly choice: readonly ParameterValue[] };

export type ParameterValue = number | string | readonly number[];
export type Parameters = Readonly<Record<string, ParameterValue>>;

export type SearchStrategy = 'grid' | 'random' | 'bayesian';
/** The validation figure trials are ranked by. */
export type SearchMetric = 'validationLoss' | 'validationAccuracy';

export interface SearchSpec {
  readonly strategy: SearchStrategy;
  /** Trials in all (a grid may have fewer points). */
  readonly trials: number;
  /** Trials trained at once (one round of a Bayesian search). */
  readonly parallel: number;
  readonly metric: SearchMetric;
  readonly space: Readonly<Record<string, ParameterSpace>>;
  /** Combine the best `size` trials into one servable ensemble. */
  readonly ensemble?: { readonly size: number; readonly method: 'average' | 'vote' };
  readonly seed: number;
}

/** A trial's outcome: its parameters and its validation score (`undefined` when it failed). */
export interface TrialScore {
  readonly trial: number;
  readonly parameters: Parameters;
  readonly score: number | undefined;
}

/** Points per continuous dimension of a grid. */
const GRID_STEPS = 3;
/**
 * Combinations of the size hyperparameters' values (every value of a choice, the ends of a range) a search
 * space may make: the budget check counts the parameters of each, before any trial trains.
 */
export const MAX_SIZE_COMBINATIONS = 4096;
/** Share of trials TPE counts as "good". */
const TPE_GAMMA = 0.25;
/** Candidates TPE draws from the good density per suggestion. */
const TPE_CANDIDATES = 24;

/** Whether a larger score is better for the metric. */
export function higherIsBetter(metric: SearchMetric): boolean {
  return metric === 'validationAccuracy';
}

/**
 * Checks a manifest's `search` object against the architecture's hyperparameters and fills defaults
 * (strategy random, 8 trials, 2 at once, validation loss). Every problem names the field.
 */
export function parseSearchSpec(
  value: unknown,
  defaults: ModelHyperparameters,
  task: 'classification' | 'regression' = 'classification',
): SearchSpec {
  const spec = parseSearchShape(value);
  if (task === 'regression' && spec.metric === 'validationAccuracy') {
    fail('metric validationAccuracy needs a classifier; a regression search ranks by validationLoss');
  }
  if (task === 'regression' && spec.ensemble?.method === 'vote') {
    fail('ensemble.method vote needs a classifier; use average');
  }
  for (const [name, dimension] of Object.entries(spec.space)) {
    // Every value the space can produce must be a valid hyperparameter: try its corners.
    for (const v of cornerValues(dimension)) {
      try {
        withOverrides(defaults, { [name]: v });
      } catch (error) {
        fail(`space.${(error as Error).message.replace(/^manifest hyperparameters\./, '')}`);
      }
    }
  }
  return spec;
}

function fail(message: string): never {
  throw new DatasetValidationError(`manifest search: ${message}`);
}

/**
 * What can be checked of a `search` without the dataset (where the manifest is read): its shape, `trials`,
 * `parallel` and `seed` within their bounds (core/bounds.ts), each dimension well formed, and every corner of
 * a bounded hyperparameter's dimension within its bound. Whether the names fit the architecture, and the
 * metric the task, is parseSearchSpec's.
 */
export function parseSearchShape(value: unknown): SearchSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be an object');
  const raw = value as Record<string, unknown>;
  const strategy = (raw.strategy ?? 'random') as SearchStrategy;
  if (!['grid', 'random', 'bayesian'].includes(strategy)) fail('strategy must be grid, random or bayesian');
  const bounded = (name: 'trials' | 'parallel' | 'seed', fallback: number): number => {
    const v = raw[name] ?? fallback;
    try {
      checkBound(`search.${name}`, v, MANIFEST_BOUNDS[`search.${name}`]);
    } catch (error) {
      fail((error as Error).message.replace(/^manifest search\./, ''));
    }
    return v as number;
  };
  const trials = bounded('trials', 8);
  const parallel = bounded('parallel', 2);
  const seed = bounded('seed', 0);
  const metric = (raw.metric ?? 'validationLoss') as SearchMetric;
  if (metric !== 'validationLoss' && metric !== 'validationAccuracy') {
    fail('metric must be validationLoss or validationAccuracy');
  }

  const spaceRaw = raw.space;
  if (typeof spaceRaw !== 'object' || spaceRaw === null || Object.keys(spaceRaw).length === 0) {
    fail('space must name at least one hyperparameter, e.g. {"learningRate": {"logUniform": [0.0001, 0.1]}}');
  }
  const space: Record<string, ParameterSpace> = {};
  for (const [name, dimension] of Object.entries(spaceRaw as Record<string, unknown>)) {
    const parsed = parseDimension(name, dimension);
    space[name] = parsed;
    for (const v of cornerValues(parsed)) {
      try {
        checkHyperparameter(name, v);
      } catch (error) {
        fail(`space.${(error as Error).message.replace(/^manifest hyperparameters\./, '')}`);
      }
    }
  }

  // The largest model a search can train is found among the combinations of its size hyperparameters'
  // corners (largestTrial): as many as a budget check can walk.
  const sizeNames = [...new Set<string>([...SIZE_HYPERPARAMETERS.mlp, ...SIZE_HYPERPARAMETERS.cnn])].filter(
    (name) => name in space,
  );
  const combinations = sizeNames.reduce(
    (total, name) => total * cornerValues(space[name] as ParameterSpace).length,
    1,
  );
  if (combinations > MAX_SIZE_COMBINATIONS) {
    fail(
      `space: the values of ${sizeNames.join(', ')} make ${combinations} model sizes; at most ${MAX_SIZE_COMBINATIONS} (list fewer choices)`,
    );
  }

  let ensemble: SearchSpec['ensemble'];
  if (raw.ensemble !== undefined) {
    const e = raw.ensemble as { size?: unknown; method?: unknown } | null;
    const size = e?.size;
    const method = e?.method ?? 'average';
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 2 || size > trials) {
      fail(`ensemble.size must be a whole number from 2 to the number of trials (${trials})`);
    }
    if (method !== 'average' && method !== 'vote') fail('ensemble.method must be average or vote');
    ensemble = { size: size as number, method: method as 'average' | 'vote' };
  }
  return { strategy, trials, parallel, metric, space, seed, ...(ensemble ? { ensemble } : {}) };
}

function parseDimension(name: string, value: unknown): ParameterSpace {
  const v = value as Record<string, unknown> | null;
  const keys = v && typeof v === 'object' ? Object.keys(v) : [];
  const kind = keys[0];
  if (keys.length !== 1 || !kind)
    return fail(`space.${name} must be one of {uniform|logUniform|int: [min, max]} or {choice: [...]}`);
  const body = (v as Record<string, unknown>)[kind];
  if (kind === 'choice') {
    const most = MANIFEST_BOUNDS['search.space.choice'].max;
    if (!Array.isArray(body) || body.length === 0 || body.length > most)
      return fail(
        `space.${name}.choice must be a list of 1 to ${most} values` +
          (Array.isArray(body) ? ` (got ${body.length})` : ''),
      );
    return { choice: body as ParameterValue[] };
  }
  if (!['uniform', 'logUniform', 'int'].includes(kind)) return fail(`space.${name}: unknown kind "${kind}"`);
  if (
    !Array.isArray(body) ||
    body.length !== 2 ||
    !body.every((n) => typeof n === 'number' && Number.isFinite(n)) ||
    (body[0] as number) > (body[1] as number)
  ) {
    return fail(`space.${name}.${kind} must be [min, max] with min <= max`);
  }
  const [min, max] = body as [number, number];
  if (kind === 'logUniform' && min <= 0) return fail(`space.${name}.logUniform needs min > 0`);
  if (kind === 'int' && !(Number.isInteger(min) && Number.isInteger(max))) {
    return fail(`space.${name}.int bounds must be whole numbers`);
  }
  return { [kind]: [min, max] } as unknown as ParameterSpace;
}

function cornerValues(dimension: ParameterSpace): ParameterValue[] {
  if ('choice' in dimension) return [...dimension.choice];
  const [min, max] =
    'uniform' in dimension
      ? dimension.uniform
      : 'logUniform' in dimension
        ? dimension.logUniform
        : dimension.int;
  return [min, max];
}

/**
 * The grid's points, in a fixed order (the last dimension by name varying fastest; continuous dimensions at
 * GRID_STEPS evenly spaced points): the first `limit` of them, made one at a time — a space of many choices
 * has more points than could ever be listed, and a search trains only `trials` of them.
 */
export function gridPoints(space: SearchSpec['space'], limit = Number.POSITIVE_INFINITY): Parameters[] {
  const names = Object.keys(space).sort();
  const values = names.map((name) => gridValues(space[name] as ParameterSpace, isWhole(name)));
  const count = Math.min(limit, gridSize(space));
  const points: Parameters[] = [];
  for (let k = 0; k < count; k++) {
    const point: Record<string, ParameterValue> = {};
    let rest = k;
    for (let d = names.length - 1; d >= 0; d--) {
      const dimension = values[d] as ParameterValue[];
      point[names[d] as string] = dimension[rest % dimension.length] as ParameterValue;
      rest = Math.floor(rest / dimension.length);
    }
    points.push(point);
  }
  return points;
}

/** How many points the grid has (without listing them). */
export function gridSize(space: SearchSpec['space']): number {
  return Object.keys(space).reduce(
    (total, name) => total * gridValues(space[name] as ParameterSpace, isWhole(name)).length,
    1,
  );
}

function gridValues(dimension: ParameterSpace, whole = false): ParameterValue[] {
  if ('choice' in dimension) return [...dimension.choice];
  if (whole) {
    // A whole-number hyperparameter: the grid's points rounded, each once.
    const points = Array.from({ length: GRID_STEPS }, (_, i) =>
      Math.round(fromUnit(dimension, i / (GRID_STEPS - 1))),
    );
    return [...new Set(points)];
  }
  if ('int' in dimension) {
    const [min, max] = dimension.int;
    const count = Math.min(GRID_STEPS, max - min + 1);
    return [
      ...new Set(
        Array.from({ length: count }, (_, i) => Math.round(min + ((max - min) * i) / Math.max(1, count - 1))),
      ),
    ];
  }
  return Array.from({ length: GRID_STEPS }, (_, i) => fromUnit(dimension, i / (GRID_STEPS - 1)));
}

/** A dimension's value at position u ∈ [0, 1] (log scale for logUniform, rounded for int). */
function fromUnit(dimension: Exclude<ParameterSpace, { choice: unknown }>, u: number): number {
  if ('logUniform' in dimension) {
    const [min, max] = dimension.logUniform;
    if (u <= 0 || u >= 1) return u <= 0 ? min : max;
    return Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)));
  }
  if ('int' in dimension) {
    const [min, max] = dimension.int;
    return Math.min(max, Math.floor(min + u * (max - min + 1)));
  }
  const [min, max] = dimension.uniform;
  return min + u * (max - min);
}

/** A value's position in [0, 1] of its dimension (the inverse of fromUnit, int at the centre of its cell). */
function toUnit(dimension: Exclude<ParameterSpace, { choice: unknown }>, value: number): number {
  if ('logUniform' in dimension) {
    const [min, max] = dimension.logUniform;
    return max === min ? 0.5 : (Math.log(value) - Math.log(min)) / (Math.log(max) - Math.log(min));
  }
  if ('int' in dimension) {
    const [min, max] = dimension.int;
    return (value - min + 0.5) / (max - min + 1);
  }
  const [min, max] = dimension.uniform;
  return max === min ? 0.5 : (value - min) / (max - min);
}

function randomPoint(space: SearchSpec['space'], random: Random): Parameters {
  const point: Record<string, ParameterValue> = {};
  for (const name of Object.keys(space).sort()) {
    const dimension = space[name] as ParameterSpace;
    point[name] =
      'choice' in dimension
        ? (dimension.choice[Math.floor(random() * dimension.choice.length)] as ParameterValue)
        : fromUnit(dimension, random());
  }
  return point;
}

/** How many trials the search runs in all: a grid stops at its last point. */
export function plannedTrials(spec: SearchSpec): number {
  return spec.strategy === 'grid' ? Math.min(spec.trials, gridSize(spec.space)) : spec.trials;
}

/**
 * The next round: which parameters the next trials (numbered from `done.length`) try, given every finished
 * trial. Grid and random plan all remaining trials in one round (the Map's MaxConcurrency bounds how many
 * run at once); Bayesian plans `parallel` at a time, random until it has enough scores, then TPE.
 */
export function suggestTrials(spec: SearchSpec, done: readonly TrialScore[]): Parameters[] {
  return suggestPoints(spec, done).map((point) => wholeWhereBound(spec.space, point));
}

/**
 * A whole-number hyperparameter (`epochs`, `batchSize`…) searched over `uniform`/`logUniform` takes the
 * nearest whole number within its range: what the sampler draws is a position, and the trial trains — and
 * is recorded — with the value it can take.
 */
function wholeWhereBound(space: SearchSpec['space'], point: Parameters): Parameters {
  const out: Record<string, ParameterValue> = { ...point };
  for (const [name, value] of Object.entries(point)) {
    const dimension = space[name];
    if (
      !isWhole(name) ||
      typeof value !== 'number' ||
      !dimension ||
      'choice' in dimension ||
      'int' in dimension
    ) {
      continue;
    }
    const [min, max] = 'uniform' in dimension ? dimension.uniform : dimension.logUniform;
    out[name] = Math.min(Math.floor(max), Math.max(Math.ceil(min), Math.round(value)));
  }
  return out;
}

/** Whether a hyperparameter takes whole numbers only (its bound says so). */
function isWhole(name: string): boolean {
  const bound = (HYPERPARAMETER_BOUNDS as Record<string, { integer?: boolean }>)[name];
  return bound?.integer === true;
}

function suggestPoints(spec: SearchSpec, done: readonly TrialScore[]): Parameters[] {
  const total = plannedTrials(spec);
  const first = done.length;
  if (first >= total) return [];
  if (spec.strategy === 'grid') return gridPoints(spec.space, total).slice(first, total);
  if (spec.strategy === 'random') {
    return Array.from({ length: total - first }, (_, i) =>
      randomPoint(spec.space, createRandom(spec.seed * 7919 + first + i + 1)),
    );
  }
  const count = Math.min(spec.parallel, total - first);
  const scored = done.filter((t): t is TrialScore & { score: number } => t.score !== undefined);
  const startup = Math.max(spec.parallel, 3);
  return Array.from({ length: count }, (_, i) => {
    const random = createRandom(spec.seed * 7919 + first + i + 1);
    return scored.length < startup ? randomPoint(spec.space, random) : tpeSuggest(spec, scored, random);
  });
}

/**
 * TPE: split the scored trials into the best γ share ("good") and the rest; per dimension, fit a Parzen
 * density to each (Gaussian kernels on the unit scale; smoothed counts for choices); draw candidates from
 * the good densities and keep the one with the highest good/bad density ratio.
 */
function tpeSuggest(
  spec: SearchSpec,
  scored: readonly (TrialScore & { score: number })[],
  random: Random,
): Parameters {
  const sign = higherIsBetter(spec.metric) ? -1 : 1;
  const ranked = [...scored].sort((a, b) => sign * (a.score - b.score) || a.trial - b.trial);
  const nGood = Math.max(1, Math.ceil(TPE_GAMMA * ranked.length));
  const good = ranked.slice(0, nGood);
  const bad = ranked.slice(nGood);
  const names = Object.keys(spec.space).sort();
  let best: { point: Parameters; ratio: number } | undefined;
  for (let c = 0; c < TPE_CANDIDATES; c++) {
    const point: Record<string, ParameterValue> = {};
    let logRatio = 0;
    for (const name of names) {
      const dimension = spec.space[name] as ParameterSpace;
      if ('choice' in dimension) {
        const key = (v: ParameterValue) => JSON.stringify(v);
        const keys = dimension.choice.map(key);
        const weights = (trials: readonly TrialScore[]) => {
          const counts = keys.map(() => 1);
          for (const t of trials) {
            const i = keys.indexOf(key(t.parameters[name] as ParameterValue));
            if (i >= 0) counts[i] = (counts[i] as number) + 1;
          }
          const total = counts.reduce((a, b) => a + b, 0);
          return counts.map((n) => n / total);
        };
        const pGood = weights(good);
        const pBad = weights(bad);
        let u = random();
        let index = 0;
        while (index < pGood.length - 1 && u > (pGood[index] as number)) u -= pGood[index++] as number;
        point[name] = dimension.choice[index] as ParameterValue;
        logRatio += Math.log(pGood[index] as number) - Math.log(pBad[index] as number);
      } else {
        const goodUnits = good.map((t) => toUnit(dimension, t.parameters[name] as number));
        const badUnits = bad.map((t) => toUnit(dimension, t.parameters[name] as number));
        const width = Math.max(0.05, 1 / Math.sqrt(goodUnits.length + 1)) * 0.5;
        // Draw from the good mixture: a kernel around a good point (or the uniform prior, as one component).
        const component = Math.floor(random() * (goodUnits.length + 1));
        const centre = goodUnits[component];
        const u = centre === undefined ? random() : clampUnit(centre + width * gaussian(random));
        point[name] = fromUnit(dimension, u);
        const x = toUnit(dimension, point[name] as number);
        logRatio += Math.log(parzen(x, goodUnits, width)) - Math.log(parzen(x, badUnits, width));
      }
    }
    if (!best || logRatio > best.ratio) best = { point, ratio: logRatio };
  }
  return (best as { point: Parameters }).point;
}

/** Density at x of Gaussian kernels at `centres` plus a uniform prior component, on [0, 1]. */
function parzen(x: number, centres: readonly number[], width: number): number {
  let sum = 1; // the prior: uniform density 1
  for (const c of centres) sum += Math.exp(-0.5 * ((x - c) / width) ** 2) / (width * Math.sqrt(2 * Math.PI));
  return sum / (centres.length + 1);
}

function gaussian(random: Random): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function clampUnit(u: number): number {
  return Math.min(1 - 1e-9, Math.max(0, u));
}

/**
 * A trial's score: its last epoch's validation figure (the training figure when it had no validation
 * data); undefined when it trained no epoch or the figure is not a number.
 */
export function trialScore(
  final:
    | { loss: number; accuracy?: number; validationLoss?: number; validationAccuracy?: number }
    | undefined,
  metric: SearchMetric,
): number | undefined {
  if (!final) return undefined;
  const score = final[metric] ?? (metric === 'validationLoss' ? final.loss : final.accuracy);
  return score !== undefined && Number.isFinite(score) ? score : undefined;
}

/** The trials ranked best first by the metric; failed trials last. */
export function rankTrials(spec: Pick<SearchSpec, 'metric'>, trials: readonly TrialScore[]): TrialScore[] {
  const sign = higherIsBetter(spec.metric) ? -1 : 1;
  return [...trials].sort((a, b) => {
    if (a.score === undefined || b.score === undefined) {
      return (a.score === undefined ? 1 : 0) - (b.score === undefined ? 1 : 0) || a.trial - b.trial;
    }
    return sign * (a.score - b.score) || a.trial - b.trial;
  });
}

/** Hyperparameters of a trial: the defaults with the trial's parameters in place. */
export function trialHyperparameters(
  defaults: ModelHyperparameters,
  parameters: Parameters,
): ModelHyperparameters {
  return withOverrides(defaults, parameters);
}

/**
 * The largest model a search can train, and its parameter count: of every combination of the corners of the
 * space's size hyperparameters (core/budget.ts SIZE_HYPERPARAMETERS; every value of a choice), the one with
 * the most parameters. A model grows with each scalar size hyperparameter (convolutions per block, kernel
 * size), so its corners hold the largest; the list ones (layers) can only be choices. Without a size
 * hyperparameter in the space, every trial has the size of `base`.
 */
export function largestTrial(
  spec: Pick<SearchSpec, 'space'>,
  base: ModelHyperparameters,
  input: ModelInput,
): { readonly hyperparameters: ModelHyperparameters; readonly parameters: number } {
  const names = (SIZE_HYPERPARAMETERS[base.architecture] as readonly string[]).filter((n) => n in spec.space);
  let combinations: Record<string, ParameterValue>[] = [{}];
  for (const name of names) {
    const values = cornerValues(spec.space[name] as ParameterSpace);
    combinations = combinations.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  let largest = { hyperparameters: base, parameters: -1 };
  for (const combination of combinations) {
    const hyperparameters = { ...base, ...combination } as ModelHyperparameters;
    const parameters = countParameters(hyperparameters, input);
    if (parameters > largest.parameters) largest = { hyperparameters, parameters };
  }
  return largest;
}
