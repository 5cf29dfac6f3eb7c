/**
 * Bounds of every manifest field that drives what a training job costs in time or memory: one table, checked
 * where the manifest is read (core/manifest.ts) and again wherever hyperparameters are merged
 * (core/hyperparameters.ts `withOverrides`: Preprocess, every trial of a search). A value outside its bound
 * is a DatasetValidationError naming the field, the bound and the value. `docs/limits.md` lists the same.
 *
 * The bounds are generous on purpose: they refuse what cannot be meant (a batch of 0, 10⁹ epochs, a layer of
 * 10⁹ units), not what is merely large. What a job may spend is the training budget's (core/budget.ts):
 * minutes, and the parameters of the model.
 */
import { DatasetValidationError } from './errors.ts';

/** A number from `min` to `max` (both included), whole when `integer`. */
export interface NumberBound {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/** A list of `minLength` to `maxLength` numbers, each within `items`. */
export interface ListBound {
  readonly minLength: number;
  readonly maxLength: number;
  readonly items: NumberBound;
}

export type Bound = NumberBound | ListBound;

const whole = (min: number, max: number): NumberBound => ({ min, max, integer: true });
const real = (min: number, max: number): NumberBound => ({ min, max, integer: false });
const list = (minLength: number, maxLength: number, items: NumberBound): ListBound => ({
  minLength,
  maxLength,
  items,
});

/** The largest seed: seeds are offset and multiplied (`seed * 1000003 + epoch`) and must stay exact doubles. */
const MAX_SEED = 2 ** 31 - 1;

/** Every hyperparameter of the MLP and the CNN that takes a number (the string ones have CHOICES). */
export const HYPERPARAMETER_BOUNDS = {
  // Time is the budget's to bound; epochs are bounded for size: each epoch's log is in the card and in
  // every checkpoint's latest.json, ~1 MB at 10,000 epochs (10⁹ epochs would never end, nor fit).
  epochs: whole(1, 10_000),
  // 0 cannot train. 4,096 rows a step is past where larger batches still help a small model.
  batchSize: whole(1, 4096),
  // Adam: below 10⁻⁶ nothing moves within any budget; above 1 it diverges.
  learningRate: real(0.000001, 1),
  // A rate of 1 drops every unit (and divides by zero); 0.9 is already extreme.
  dropout: real(0, 0.9),
  // An L2 penalty above 1 outweighs any loss.
  weightDecay: real(0, 1),
  // Epochs without a better validation loss before stopping; 0 = off. More than 1,000 is never reached.
  patience: whole(0, 1000),
  seed: whole(0, MAX_SEED),
  // MLP: up to 8 hidden layers of up to 4,096 units; the parameter budget decides how many of those fit
  // ([4096, 4096, 4096, 4096] is within these bounds and over the default 10 M parameters).
  hiddenUnits: list(0, 8, whole(1, 4096)),
  // CNN: up to 8 blocks (a 512-pixel side pooled 8 times is 2 pixels) of up to 1,024 filters each.
  blockFilters: list(1, 8, whole(1, 1024)),
  convsPerBlock: whole(1, 4),
  // Kernels wider than 11 pixels are for images far larger than the 512-pixel sides allowed.
  kernelSize: whole(1, 11),
  denseUnits: list(0, 4, whole(1, 4096)),
} as const satisfies Record<string, Bound>;

/** The other bounded fields of a manifest, by their path in it. */
export const MANIFEST_BOUNDS = {
  seed: whole(0, MAX_SEED),
  // Each split at least 1% of the rows (a class needs a row in each), summing to 1.
  'split.train': real(0.01, 0.98),
  'split.validation': real(0.01, 0.98),
  'split.test': real(0.01, 0.98),
  // Each trial is a training job with the whole budget: 100 of them is a long search already.
  'search.trials': whole(1, 100),
  // Trials planned per round (the Map state runs at most 4 at once).
  'search.parallel': whole(1, 16),
  'search.seed': whole(0, MAX_SEED),
  // The genetic strategy: trials per generation (and parents kept), the chance a gene mutates, and how many
  // parents-to-be meet in a tournament.
  'search.population': whole(2, 100),
  'search.mutationRate': real(0, 1),
  'search.tournament': whole(2, 100),
  // A stacking meta-model's L2 penalty: above 0 (a logistic regression on separable predictions has no
  // finite fit without one), at most where it outweighs any number of rows.
  'search.ensemble.regularization': real(0.000001, 1_000_000),
  // Cross-validation trains k + 1 models: 10 folds is where the estimate stops gaining for what it costs.
  'validation.folds': whole(2, 10),
  // Values a `choice` dimension lists: the parameter check walks every combination of choices.
  'search.space.choice': whole(1, 64),
  // A manifest's budget may only lower the platform's (checked in Preprocess, which knows it); these are the
  // widest any platform allows (core/budget.ts TRAINING_BUDGET_BOUNDS). Fractions of a minute are allowed.
  'budget.minutes': real(0.01, 1440),
  'budget.parameters': whole(1, 1_000_000_000),
  // All of a run's training jobs together (a search's trials share it): up to a week of GPU time.
  'budget.runMinutes': real(0.01, 10_080),
} as const satisfies Record<string, NumberBound>;

export type HyperparameterName = keyof typeof HYPERPARAMETER_BOUNDS;

/** `value` as a user wrote it, short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeNumber(bound: NumberBound): string {
  return `${bound.integer ? 'a whole number' : 'a number'} from ${bound.min} to ${bound.max}`;
}

/** What a bound asks for, as the error messages and the docs say it. */
export function describeBound(bound: Bound): string {
  if ('items' in bound) {
    const { items } = bound;
    const kind = items.integer ? 'whole numbers' : 'numbers';
    return `a list of ${bound.minLength} to ${bound.maxLength} ${kind}, each from ${items.min} to ${items.max}`;
  }
  return describeNumber(bound);
}

export function withinNumber(value: unknown, bound: NumberBound): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!bound.integer || Number.isInteger(value)) &&
    value >= bound.min &&
    value <= bound.max
  );
}

export function withinBound(value: unknown, bound: Bound): boolean {
  if (!('items' in bound)) return withinNumber(value, bound);
  return (
    Array.isArray(value) &&
    value.length >= bound.minLength &&
    value.length <= bound.maxLength &&
    value.every((item) => withinNumber(item, bound.items))
  );
}

/**
 * Throws a DatasetValidationError unless `value` is within `bound`:
 * `manifest <field> must be a whole number from 1 to 4096 (got 0)`.
 */
export function checkBound(field: string, value: unknown, bound: Bound): void {
  if (!withinBound(value, bound)) {
    throw new DatasetValidationError(
      `manifest ${field} must be ${describeBound(bound)} (got ${shown(value)})`,
    );
  }
}

/** Checks a hyperparameter that has a bound (others — strings, unknown names — are withOverrides' to check). */
export function checkHyperparameter(name: string, value: unknown): void {
  const bound = (HYPERPARAMETER_BOUNDS as Record<string, Bound>)[name];
  if (bound) checkBound(`hyperparameters.${name}`, value, bound);
}
