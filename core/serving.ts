/**
 * The predict contract: TF Serving's row format in, labels and class probabilities out.
 * Validation names the instance index and the field, so a client can fix its request.
 */
import type { DatasetSchema, ImageSpec, TypedRow } from './dataset.ts';
import { InvalidRequestError, PayloadTooLargeError } from './errors.ts';
import { argmax } from './metrics.ts';
import { decodeTarget, type ImagePreprocessor, type Preprocessor } from './preprocess.ts';

/** `schema.json`: the input contract of a model version (tabular rows). */
export interface InputSchema {
  /** Absent in files written before image models existed. */
  readonly kind?: 'tabular';
  readonly task: DatasetSchema['task'];
  readonly label: string;
  readonly classes: readonly string[];
  readonly features: readonly InputFeature[];
}

export type InputFeature =
  | { readonly name: string; readonly type: 'numeric' }
  | { readonly name: string; readonly type: 'categorical'; readonly categories: readonly string[] };

export function inputSchema(schema: DatasetSchema, pre: Preprocessor): InputSchema {
  return {
    kind: 'tabular',
    task: schema.task,
    label: schema.label,
    classes: [...schema.classes],
    features: pre.features.map((f) =>
      f.type === 'numeric'
        ? { name: f.name, type: 'numeric' }
        : { name: f.name, type: 'categorical', categories: [...f.categories] },
    ),
  };
}

/** `schema.json` of an image model: `{"instances": [{"b64": …}]}`, decoded and resized to `image`. */
export interface ImageInputSchema {
  readonly kind: 'image';
  readonly task: 'classification';
  readonly classes: readonly string[];
  readonly image: ImageSpec;
  readonly formats: readonly string[];
}

export function imageInputSchema(pre: ImagePreprocessor): ImageInputSchema {
  return {
    kind: 'image',
    task: 'classification',
    classes: [...pre.classes],
    image: pre.image,
    formats: ['png', 'jpeg'],
  };
}

/** The most instances one request may carry. */
export const MAX_INSTANCES = 1000;

/**
 * Parses `{"instances": [{feature: value, …}, …]}` into typed rows. Numeric features must be JSON numbers,
 * categorical features strings, and `null` is an unknown value (imputed as a missing cell is in training);
 * every feature is required; the label column, if sent, is ignored; any other field is an error.
 */
export function parsePredictRequest(body: string | undefined | null, schema: InputSchema): TypedRow[] {
  if (body === undefined || body === null || body.trim() === '') {
    throw new InvalidRequestError('the request body is empty; send {"instances": [{...}]}', 'instances');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new InvalidRequestError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed) || !('instances' in parsed)) {
    throw new InvalidRequestError(
      'the request body must be an object with an "instances" array',
      'instances',
    );
  }
  const instances = parsed.instances;
  if (!Array.isArray(instances) || instances.length === 0) {
    throw new InvalidRequestError('"instances" must be a non-empty array of objects', 'instances');
  }
  if (instances.length > MAX_INSTANCES) {
    throw new PayloadTooLargeError(
      `"instances" has ${instances.length} items; at most ${MAX_INSTANCES} are allowed`,
      'instances',
    );
  }
  const known = new Set([...schema.features.map((f) => f.name), schema.label]);
  return instances.map((instance: unknown, index) => {
    if (!isObject(instance)) {
      throw new InvalidRequestError(
        `instances[${index}] must be an object of feature values`,
        undefined,
        index,
      );
    }
    const extra = Object.keys(instance).find((key) => !known.has(key));
    if (extra !== undefined) {
      throw new InvalidRequestError(
        `instances[${index}].${extra} is not a feature of this model`,
        extra,
        index,
      );
    }
    const row: TypedRow = {};
    for (const feature of schema.features) {
      const value = instance[feature.name];
      if (value === undefined) {
        throw new InvalidRequestError(
          `instances[${index}].${feature.name} is missing (send null for an unknown value)`,
          feature.name,
          index,
        );
      }
      if (value === null) {
        // An unknown value, as an empty cell in training: imputed by the same transform.
        row[feature.name] = null;
        continue;
      }
      if (feature.type === 'numeric' && (typeof value !== 'number' || !Number.isFinite(value))) {
        throw new InvalidRequestError(
          `instances[${index}].${feature.name} must be a finite number, got ${describe(value)}`,
          feature.name,
          index,
        );
      }
      if (feature.type === 'categorical' && typeof value !== 'string') {
        throw new InvalidRequestError(
          `instances[${index}].${feature.name} must be a string, got ${describe(value)}`,
          feature.name,
          index,
        );
      }
      row[feature.name] = value as number | string;
    }
    return row;
  });
}

export type Prediction =
  | { readonly label: string; readonly probabilities: Record<string, number> }
  | { readonly value: number };

/** A regressor's outputs in the target's units: `{"value": …}` per instance. */
export function toValuePredictions(pre: Preprocessor, outputs: readonly (readonly number[])[]): Prediction[] {
  return outputs.map((row) => ({ value: decodeTarget(pre, row[0] ?? 0) }));
}

export function toPredictions(
  classes: readonly string[],
  probabilities: readonly (readonly number[])[],
): Prediction[] {
  return probabilities.map((row) => ({
    label: classes[argmax(row)] as string,
    probabilities: Object.fromEntries(classes.map((c, i) => [c, row[i] ?? 0])),
  }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : typeof value;
}
