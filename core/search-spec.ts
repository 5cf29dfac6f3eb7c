/**
 * A hyperparameter search as a manifest declares it: the space (one dimension per hyperparameter), the
 * strategy (grid, random, Bayesian — a tree-structured Parzen estimator, TPE — or genetic), the trials, the
 * metric they are ranked by, and the ensemble made of the best. Parsed and checked here, where the largest model the
 * space can make is found too.
 */
import { checkBound, checkHyperparameter, MANIFEST_BOUNDS } from './bounds.ts';
import { countParameters, type ModelInput, SIZE_HYPERPARAMETERS } from './budget.ts';
import type { EnsembleMethod } from './ensemble.ts';
import { DatasetValidationError } from './errors.ts';
import { type ModelHyperparameters, withOverrides } from './hyperparameters.ts';
import type { GeneticSettings } from './search-genetic.ts';

/** One dimension of a search space, as a manifest declares it. */
export type ParameterSpace =
  | { readonly uniform: readonly [number, number] }
  | { readonly logUniform: readonly [number, number] }
  | { readonly int: readonly [number, number] }
  | { readonly choice: readonly ParameterValue[] };

export type ParameterValue = number | string | readonly number[];

export type Parameters = Readonly<Record<string, ParameterValue>>;

export type SearchStrategy = 'grid' | 'random' | 'bayesian' | 'genetic';

const STRATEGIES: readonly SearchStrategy[] = ['grid', 'random', 'bayesian', 'genetic'];

const ENSEMBLE_METHODS: readonly EnsembleMethod[] = ['average', 'vote', 'stack'];

/** The L2 penalty of a stacking meta-model when the manifest names none (scikit-learn's default, C = 1). */
export const DEFAULT_STACK_REGULARIZATION = 1;

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
  readonly ensemble?: SearchEnsemble;
  readonly seed: number;
  /** The genetic strategy's population, mutation rate and tournament size (only for `genetic`). */
  readonly genetic?: GeneticSettings;
}

export interface SearchEnsemble {
  readonly size: number;
  readonly method: EnsembleMethod;
  /**
   * `stack`: the meta-model's L2 penalty α on its coefficients (the sum of the losses + α/2 ‖w‖²: scikit-learn's
   * `1/C` for logistic regression, `alpha` for ridge).
   */
  readonly regularization?: number;
}

/** A trial's outcome: its parameters and its validation score (`undefined` when it failed). */
export interface TrialScore {
  readonly trial: number;
  readonly parameters: Parameters;
  readonly score: number | undefined;
}

/**
 * Combinations of the size hyperparameters' values (every value of a choice, the ends of a range) a search
 * space may make: the budget check counts the parameters of each, before any trial trains.
 */
export const MAX_SIZE_COMBINATIONS = 4096;

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
    fail('ensemble.method vote needs a classifier; use average or stack');
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
  if (!STRATEGIES.includes(strategy)) fail('strategy must be grid, random, bayesian or genetic');
  const bounded = (
    name: BoundedSearchField,
    fallback: number,
    from: Record<string, unknown> = raw,
  ): number => {
    const v = from[name.replace(/^ensemble\./, '')] ?? fallback;
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

  let ensemble: SearchEnsemble | undefined;
  if (raw.ensemble !== undefined) {
    const e = raw.ensemble as { size?: unknown; method?: unknown; regularization?: unknown } | null;
    const size = e?.size;
    const method = (e?.method ?? 'average') as EnsembleMethod;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 2 || size > trials) {
      fail(`ensemble.size must be a whole number from 2 to the number of trials (${trials})`);
    }
    if (!ENSEMBLE_METHODS.includes(method)) fail('ensemble.method must be average, vote or stack');
    if (e?.regularization !== undefined && method !== 'stack') {
      fail("ensemble.regularization is the stacking meta-model's: it needs ensemble.method stack");
    }
    ensemble = {
      size: size as number,
      method,
      ...(method === 'stack'
        ? {
            regularization: bounded(
              'ensemble.regularization',
              DEFAULT_STACK_REGULARIZATION,
              e as Record<string, unknown>,
            ),
          }
        : {}),
    };
  }
  const genetic = parseGenetic(raw, strategy, trials, bounded);
  return {
    strategy,
    trials,
    parallel,
    metric,
    space,
    seed,
    ...(ensemble ? { ensemble } : {}),
    ...(genetic ? { genetic } : {}),
  };
}

type BoundedSearchField =
  | 'trials'
  | 'parallel'
  | 'seed'
  | 'population'
  | 'mutationRate'
  | 'tournament'
  | 'ensemble.regularization';

const GENETIC_FIELDS = ['population', 'mutationRate', 'tournament'] as const;

/**
 * The genetic strategy's settings, with their defaults: a population of a third of the trials (2 to 8, so
 * that a search has generations to breed), a mutation rate of 0.2 per gene, tournaments of 2. A setting given
 * to another strategy is a mistake, named.
 */
function parseGenetic(
  raw: Record<string, unknown>,
  strategy: SearchStrategy,
  trials: number,
  bounded: (name: BoundedSearchField, fallback: number) => number,
): GeneticSettings | undefined {
  if (strategy !== 'genetic') {
    const given = GENETIC_FIELDS.find((name) => raw[name] !== undefined);
    if (given) fail(`${given} is the genetic strategy's: it needs strategy genetic`);
    return undefined;
  }
  const population = bounded('population', Math.max(2, Math.min(8, Math.ceil(trials / 3))));
  if (raw.population !== undefined && population > trials) {
    fail(`population must be at most the number of trials (${trials}) (got ${population})`);
  }
  const mutationRate = bounded('mutationRate', 0.2);
  const tournament = bounded('tournament', 2);
  if (tournament > population) {
    fail(`tournament must be at most the population (${population}) (got ${tournament})`);
  }
  return { population, mutationRate, tournament };
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
