/**
 * `datasets/<name>/dataset.json`: what a user may say about a dataset, checked field by field. Every problem
 * is an Error naming the field; RegisterDataset turns it into a finding on the run. Fields that drive what
 * training costs are checked against their bounds here (core/bounds.ts), so that a manifest asking for 10⁹
 * epochs or a batch of 0 fails the run before anything is preprocessed or trained.
 */
import { checkBound, checkHyperparameter, MANIFEST_BOUNDS } from './bounds.ts';
import { checkManifestBudget } from './budget.ts';
import { parseValidationSpec } from './cross-validation.ts';
import type { ColumnType, DatasetManifest, TaskType } from './dataset.ts';
import { FLAGS } from './hyperparameters.ts';
import { parseImageSpec } from './image-dataset.ts';
import { parseGateSpec } from './model-registry.ts';
import { PREPROCESSING_CHOICES, type PreprocessingOptions } from './preprocessor.ts';
import { parseSearchShape } from './search-spec.ts';

export const MANIFEST_FIELDS = [
  'label',
  'task',
  'types',
  'ignore',
  'split',
  'preprocessing',
  'seed',
  'image',
  'hyperparameters',
  'search',
  'gate',
  'budget',
  'validation',
] as const;

export function parseManifest(value: unknown): DatasetManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !(MANIFEST_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new Error(`unknown field(s) ${unknown.join(', ')}; a manifest has ${MANIFEST_FIELDS.join(', ')}`);
  }
  const {
    label,
    task,
    types,
    ignore,
    split,
    seed,
    preprocessing,
    image,
    hyperparameters,
    search,
    gate,
    budget,
    validation,
  } = fields;
  if (label !== undefined && typeof label !== 'string') throw new Error('"label" must be a string');
  if (task !== undefined && task !== 'classification' && task !== 'regression') {
    throw new Error('"task" must be "classification" or "regression"');
  }
  if (
    types !== undefined &&
    (typeof types !== 'object' ||
      types === null ||
      !Object.values(types).every((t) => t === 'numeric' || t === 'categorical'))
  ) {
    throw new Error('"types" must map column names to "numeric" or "categorical"');
  }
  if (ignore !== undefined && !(Array.isArray(ignore) && ignore.every((c) => typeof c === 'string'))) {
    throw new Error('"ignore" must be a list of column names');
  }
  if (split !== undefined) {
    if (typeof split !== 'object' || split === null || Array.isArray(split)) {
      throw new Error('"split" must be {"train", "validation", "test"}, summing to 1');
    }
    const s = split as Record<string, unknown>;
    for (const part of ['train', 'validation', 'test'] as const) {
      checkBound(`split.${part}`, s[part], MANIFEST_BOUNDS[`split.${part}`]);
    }
    const sum = (s.train as number) + (s.validation as number) + (s.test as number);
    if (Math.abs(sum - 1) > 1e-6)
      throw new Error(`"split" ratios must sum to 1 (got ${Number(sum.toFixed(6))})`);
  }
  if (seed !== undefined) checkBound('seed', seed, MANIFEST_BOUNDS.seed);
  if (preprocessing !== undefined) {
    if (typeof preprocessing !== 'object' || preprocessing === null)
      throw new Error('"preprocessing" must be an object');
    for (const [key, value] of Object.entries(preprocessing)) {
      const choices = (PREPROCESSING_CHOICES as Record<string, readonly string[]>)[key];
      if (!choices)
        throw new Error(
          `"preprocessing.${key}" is not a setting (${Object.keys(PREPROCESSING_CHOICES).join(', ')})`,
        );
      if (!choices.includes(value as string))
        throw new Error(`"preprocessing.${key}" must be one of ${choices.join(', ')}`);
    }
  }
  if (hyperparameters !== undefined) {
    if (typeof hyperparameters !== 'object' || hyperparameters === null || Array.isArray(hyperparameters)) {
      throw new Error('"hyperparameters" must be an object');
    }
    // The bounds of every number; which names the architecture has is Preprocess's to say (withOverrides).
    for (const [name, v] of Object.entries(hyperparameters)) {
      if (FLAGS.includes(name) && typeof v !== 'boolean')
        throw new Error(`"hyperparameters.${name}" must be true or false`);
      checkHyperparameter(name, v);
    }
  }
  if (search !== undefined) parseSearchShape(search);
  if (budget !== undefined) checkManifestBudget(budget);
  const crossValidation = validation === undefined ? undefined : parseValidationSpec(validation);
  const gateSpec = gate === undefined ? undefined : parseGateSpec(gate);
  if (gateSpec?.on === 'cv' && !crossValidation) {
    throw new Error('"gate.on" cv compares cross-validation means: set "validation": { "folds": k } too');
  }
  return {
    ...(label === undefined ? {} : { label }),
    ...(task === undefined ? {} : { task: task as TaskType }),
    ...(types === undefined ? {} : { types: types as Record<string, ColumnType> }),
    ...(ignore === undefined ? {} : { ignore: ignore as string[] }),
    ...(split === undefined ? {} : { split: split as DatasetManifest['split'] & object }),
    ...(seed === undefined ? {} : { seed: seed as number }),
    ...(preprocessing === undefined ? {} : { preprocessing: preprocessing as PreprocessingOptions }),
    ...(image === undefined ? {} : { image: parseImageSpec(image) }),
    ...(hyperparameters === undefined ? {} : { hyperparameters: hyperparameters as Record<string, unknown> }),
    ...(search === undefined ? {} : { search }),
    ...(gateSpec === undefined ? {} : { gate: gateSpec }),
    ...(budget === undefined ? {} : { budget: budget as DatasetManifest['budget'] & object }),
    ...(crossValidation === undefined ? {} : { validation: crossValidation }),
  };
}
