/**
 * Points of a search space: the grid's (in a fixed order), random ones (from a seeded PRNG), positions on a
 * dimension's unit scale and back, and the whole numbers a whole-number hyperparameter takes.
 */
import { HYPERPARAMETER_BOUNDS } from './bounds.ts';
import type { Random } from './random.ts';
import type { ParameterSpace, Parameters, ParameterValue, SearchSpec } from './search-spec.ts';

/** Points per continuous dimension of a grid. */
const GRID_STEPS = 3;

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
export function fromUnit(dimension: Exclude<ParameterSpace, { choice: unknown }>, u: number): number {
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
export function toUnit(dimension: Exclude<ParameterSpace, { choice: unknown }>, value: number): number {
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

export function randomPoint(space: SearchSpec['space'], random: Random): Parameters {
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

/**
 * A whole-number hyperparameter (`epochs`, `batchSize`…) searched over `uniform`/`logUniform` takes the
 * nearest whole number within its range: what the sampler draws is a position, and the trial trains — and
 * is recorded — with the value it can take.
 */
export function wholeWhereBound(space: SearchSpec['space'], point: Parameters): Parameters {
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
