/**
 * `datasets/<name>/dataset.json`: what a user may say about a dataset, checked field by field. Every problem
 * is an Error naming the field; RegisterDataset turns it into a finding on the run.
 */
import type { ColumnType, DatasetManifest, TaskType } from './dataset.ts';
import { parseImageSpec } from './image-dataset.ts';
import { PREPROCESSING_CHOICES, type PreprocessingOptions } from './preprocess.ts';
import { parseGateSpec } from './registry.ts';

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
] as const;

export function parseManifest(value: unknown): DatasetManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !(MANIFEST_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new Error(`unknown field(s) ${unknown.join(', ')}; a manifest has ${MANIFEST_FIELDS.join(', ')}`);
  }
  const { label, task, types, ignore, split, seed, preprocessing, image, hyperparameters, search, gate } =
    fields;
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
    const s = split as Record<string, unknown> | null;
    const parts = ['train', 'validation', 'test'].map((k) => s?.[k]);
    if (
      !parts.every((p) => typeof p === 'number' && p > 0 && p < 1) ||
      Math.abs(parts.reduce<number>((a, b) => a + (b as number), 0) - 1) > 1e-6
    ) {
      throw new Error('"split" must be {"train", "validation", "test"}, each between 0 and 1, summing to 1');
    }
  }
  if (seed !== undefined && !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0)) {
    throw new Error('"seed" must be a whole number');
  }
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
  if (hyperparameters !== undefined && (typeof hyperparameters !== 'object' || hyperparameters === null)) {
    throw new Error('"hyperparameters" must be an object');
  }
  return {
    ...(label === undefined ? {} : { label }),
    ...(task === undefined ? {} : { task: task as TaskType }),
    ...(types === undefined ? {} : { types: types as Record<string, ColumnType> }),
    ...(ignore === undefined ? {} : { ignore: ignore as string[] }),
    ...(split === undefined ? {} : { split: split as DatasetManifest['split'] & object }),
    ...(seed === undefined ? {} : { seed }),
    ...(preprocessing === undefined ? {} : { preprocessing: preprocessing as PreprocessingOptions }),
    ...(image === undefined ? {} : { image: parseImageSpec(image) }),
    ...(hyperparameters === undefined ? {} : { hyperparameters: hyperparameters as Record<string, unknown> }),
    ...(search === undefined ? {} : { search }),
    ...(gate === undefined ? {} : { gate: parseGateSpec(gate) }),
  };
}
