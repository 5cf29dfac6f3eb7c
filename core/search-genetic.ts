/**
 * The genetic strategy: a population of trials bred generation by generation. Each generation is one round
 * of the search (one pass of the pipeline's Map state); its children are bred from the best `population`
 * trials scored so far (elitist: a good trial stays a parent until better ones displace it), each child from
 * two parents picked by tournament, crossed over gene by gene and mutated.
 *
 * A gene is one dimension of the space. Crossover is uniform (each gene from either parent, evenly);
 * mutation, with probability `mutationRate` per gene, moves a range's gene by a Gaussian step on the
 * dimension's unit scale (log scale for logUniform) and gives a choice's gene another of its values.
 * Seeded: the same spec and the same scores breed the same generation.
 */
import type { Random } from './random.ts';
import { fromUnit, randomPoint, toUnit } from './search-sampling.ts';
import {
  higherIsBetter,
  type ParameterSpace,
  type Parameters,
  type ParameterValue,
  type SearchSpec,
  type TrialScore,
} from './search-spec.ts';

/** A mutated range gene moves by this many standard deviations of its whole unit range. */
export const MUTATION_SCALE = 0.15;

/** Breedings tried for a child not tried before (a space of few choices repeats itself), then any. */
const FRESH_ATTEMPTS = 8;

/** The genetic strategy's settings (a manifest's `search.population`, `mutationRate`, `tournament`). */
export interface GeneticSettings {
  /** Trials per generation, and parents kept (the best so far). */
  readonly population: number;
  /** Probability that a child's gene mutates. */
  readonly mutationRate: number;
  /** Candidates per tournament: the best of them is a parent. */
  readonly tournament: number;
}

type Scored = TrialScore & { score: number };

/**
 * The next generation: `count` children bred from the scored trials, with `random` (one stream per
 * generation). Fewer than two scored trials breed nothing: the generation is drawn at random.
 */
export function geneticSuggest(
  spec: SearchSpec & { readonly genetic: GeneticSettings },
  done: readonly TrialScore[],
  count: number,
  random: Random,
): Parameters[] {
  const scored = done.filter((t): t is Scored => t.score !== undefined);
  if (scored.length < 2) return Array.from({ length: count }, () => randomPoint(spec.space, random));
  const pool = parents(spec, scored);
  const seen = new Set(done.map((t) => key(t.parameters)));
  const children: Parameters[] = [];
  while (children.length < count) {
    let child: Parameters | undefined;
    for (let attempt = 0; attempt < FRESH_ATTEMPTS && (!child || seen.has(key(child))); attempt++) {
      const a = tournamentSelect(spec, pool, spec.genetic.tournament, random);
      const b = tournamentSelect(spec, pool, spec.genetic.tournament, random);
      child = mutate(
        spec.space,
        crossover(spec.space, a.parameters, b.parameters, random),
        spec.genetic.mutationRate,
        random,
      );
    }
    const bred = child as Parameters;
    seen.add(key(bred));
    children.push(bred);
  }
  return children;
}

/** The parents of the next generation: the best `population` scored trials (ties: the earlier trial). */
export function parents(
  spec: Pick<SearchSpec, 'metric'> & { readonly genetic: Pick<GeneticSettings, 'population'> },
  scored: readonly Scored[],
): Scored[] {
  return [...scored].sort(better(spec)).slice(0, spec.genetic.population);
}

/**
 * Tournament selection: `size` distinct members of the pool drawn at random (all of it, when it is no
 * larger), and the best of them wins.
 */
export function tournamentSelect(
  spec: Pick<SearchSpec, 'metric'>,
  pool: readonly Scored[],
  size: number,
  random: Random,
): Scored {
  const entrants = [...pool];
  const drawn = Math.min(size, entrants.length);
  // The first `drawn` places of a partial Fisher–Yates shuffle.
  for (let i = 0; i < drawn; i++) {
    const j = i + Math.floor(random() * (entrants.length - i));
    [entrants[i], entrants[j]] = [entrants[j] as Scored, entrants[i] as Scored];
  }
  const [winner] = entrants.slice(0, drawn).sort(better(spec));
  if (!winner) throw new RangeError('a tournament needs at least one entrant');
  return winner;
}

/** Uniform crossover: each gene (dimension, in name order) from one parent or the other, evenly. */
export function crossover(
  space: SearchSpec['space'],
  a: Parameters,
  b: Parameters,
  random: Random,
): Parameters {
  const child: Record<string, ParameterValue> = {};
  for (const name of Object.keys(space).sort()) {
    child[name] = (random() < 0.5 ? a[name] : b[name]) as ParameterValue;
  }
  return child;
}

/**
 * Each gene, with probability `rate`: a range's moves by a Gaussian step of MUTATION_SCALE on its unit
 * scale (kept inside the range), a choice's becomes another of its values.
 */
export function mutate(
  space: SearchSpec['space'],
  point: Parameters,
  rate: number,
  random: Random,
): Parameters {
  const out: Record<string, ParameterValue> = {};
  for (const name of Object.keys(space).sort()) {
    const dimension = space[name] as ParameterSpace;
    const value = point[name] as ParameterValue;
    if (random() >= rate) {
      out[name] = value;
    } else if ('choice' in dimension) {
      out[name] = otherChoice(dimension.choice, value, random);
    } else {
      const u = toUnit(dimension, value as number) + MUTATION_SCALE * gaussian(random);
      out[name] = fromUnit(dimension, Math.min(1 - 1e-9, Math.max(0, u)));
    }
  }
  return out;
}

function otherChoice(
  choices: readonly ParameterValue[],
  value: ParameterValue,
  random: Random,
): ParameterValue {
  const others = choices.filter((c) => key(c) !== key(value));
  if (others.length === 0) return value;
  return others[Math.floor(random() * others.length)] as ParameterValue;
}

/** Best first by the metric; ties to the earlier trial. */
function better(spec: Pick<SearchSpec, 'metric'>): (a: Scored, b: Scored) => number {
  const sign = higherIsBetter(spec.metric) ? -1 : 1;
  return (a, b) => sign * (a.score - b.score) || a.trial - b.trial;
}

function key(value: unknown): string {
  return JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? sortKeys(v) : v));
}

function sortKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function gaussian(random: Random): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
