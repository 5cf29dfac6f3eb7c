/**
 * A search's trials: planned in rounds, scored, and ranked. Pure and seeded: the same spec and the same
 * results suggest the same trials, so a search that is resumed or replayed plans what it planned before.
 *
 * The pipeline runs a search in rounds: a round's trials train in parallel (a Map state), their validation
 * scores come back, and the next round is planned from every score so far.
 */
import { type ModelHyperparameters, withOverrides } from './hyperparameters.ts';
import { createRandom } from './random.ts';
import { geneticSuggest } from './search-genetic.ts';
import { gridPoints, gridSize, randomPoint, wholeWhereBound } from './search-sampling.ts';
import {
  higherIsBetter,
  type Parameters,
  type SearchMetric,
  type SearchSpec,
  type TrialScore,
} from './search-spec.ts';
import { tpeSuggest } from './search-tpe.ts';

/** How many trials the search runs in all: a grid stops at its last point. */
export function plannedTrials(spec: SearchSpec): number {
  return spec.strategy === 'grid' ? Math.min(spec.trials, gridSize(spec.space)) : spec.trials;
}

/**
 * The next round: which parameters the next trials (numbered from `done.length`) try, given every finished
 * trial. Grid and random plan all remaining trials in one round (the Map's MaxConcurrency bounds how many
 * run at once); Bayesian plans `parallel` at a time, random until it has enough scores, then TPE; genetic
 * plans a generation of `population` at a time, the first at random, then bred (core/search-genetic.ts).
 */
export function suggestTrials(spec: SearchSpec, done: readonly TrialScore[]): Parameters[] {
  return suggestPoints(spec, done).map((point) => wholeWhereBound(spec.space, point));
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
  if (spec.strategy === 'genetic' && spec.genetic) {
    const count = Math.min(spec.genetic.population, total - first);
    const genetic = { ...spec, genetic: spec.genetic };
    return geneticSuggest(genetic, done, count, createRandom(spec.seed * 7919 + first + 1));
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
