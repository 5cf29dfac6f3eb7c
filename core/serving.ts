/**
 * The predict contract: TF Serving's row format in, labels and class probabilities out.
 * Validation names the instance index and the field, so a client can fix its request.
 */
import type { DatasetSchema, ImageSpec, TypedRow } from './dataset.ts';
import { InvalidRequestError } from './errors.ts';
import { argmax } from './metrics.ts';
import {
  type EnvelopeBounds,
  isObject,
  parseEnvelope,
  type RequestFormat,
  type RequestShape,
} from './predict-request.ts';
import { decodeTarget, type ImagePreprocessor, type Preprocessor } from './preprocessor.ts';

/** `schema.json`: the input contract of a model version (tabular rows). */
export interface InputSchema {
  readonly kind: 'tabular';
  readonly task: DatasetSchema['task'];
  readonly label: string;
  readonly classes: readonly string[];
  readonly features: readonly InputFeature[];
}

export type InputFeature =
  | {
      readonly name: string;
      readonly type: 'numeric';
      /** `false`: the model has no value for an unknown input (an imported model), so `null` is refused. */
      readonly nullable?: false;
    }
  | {
      readonly name: string;
      readonly type: 'categorical';
      readonly categories: readonly string[];
      /** A category outside `categories`: a 400 (`error`) or encoded as all zeros. Absent: `zeros`. */
      readonly unknown?: 'error' | 'zeros';
    };

export function inputSchema(schema: DatasetSchema, pre: Preprocessor): InputSchema {
  return {
    kind: 'tabular',
    task: schema.task,
    label: schema.label,
    classes: [...schema.classes],
    features: pre.features.map((f) =>
      f.type === 'numeric'
        ? { name: f.name, type: 'numeric' }
        : { name: f.name, type: 'categorical', categories: [...f.categories], unknown: f.unknown },
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
/** The longest string value of a tabular request (a category), in characters. */
export const MAX_CATEGORY_CHARS = 4096;
/** The largest magnitude a model input holds: float32's. A value past it would be Infinity to the model. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** What a tabular predict request looks like, for error messages. */
const EXAMPLE = '{"instances": [{"feature": value, ...}]}';

/** What a request to this model may carry (core/predict-request.ts). */
export function requestBounds(schema: InputSchema): EnvelopeBounds {
  return {
    maxInstances: MAX_INSTANCES,
    maxFields: schema.features.length + 1,
    maxStringChars: MAX_CATEGORY_CHARS,
  };
}

/**
 * Parses a predict body (rows or columns) into typed rows, keeping which format it came in (the answer uses
 * the same one).
 */
export async function parsePredictBody(
  body: string | undefined | null,
  schema: InputSchema,
  shape: RequestShape = 'predict',
): Promise<{ format: RequestFormat; rows: TypedRow[] }> {
  const order = schema.features.map((feature) => feature.name);
  const envelope = await parseEnvelope(body, requestBounds(schema), EXAMPLE, order, shape);
  return { format: envelope.format, rows: typedRows(envelope.instances, schema, WHERE[envelope.format]) };
}

/** `parsePredictBody`'s rows. */
export async function parsePredictRequest(
  body: string | undefined | null,
  schema: InputSchema,
): Promise<TypedRow[]> {
  return (await parsePredictBody(body, schema)).rows;
}

/** The most problems one 400 lists (a request of 1,000 bad rows names the first 20, and counts the rest). */
export const MAX_LISTED_PROBLEMS = 20;

/** One wrong field of a request: where it is, and what is wrong with it. */
export interface RequestProblem {
  readonly message: string;
  readonly field?: string;
  readonly instance: number;
}

/**
 * Instances (objects of feature values) → typed rows. Numeric features must be finite JSON numbers (`NaN` and
 * `Infinity` are refused by name), categorical features strings, and a category the model never saw is refused
 * when the preprocessor's rule says `error`; `null` is an unknown value (imputed as a missing cell is in
 * training); every feature is required; the label column, if sent, is ignored; any other field is an error.
 * One InvalidRequestError lists every problem (up to MAX_LISTED_PROBLEMS, then a count), each naming the
 * instance index and the field, so that a row of 13 features is fixed in one try, not 13.
 */
export function typedRows(
  instances: readonly unknown[],
  schema: InputSchema,
  /** How an error names the value of a field in an instance (`instances[3].x`). */
  where: (index: number, field: string) => string,
): TypedRow[] {
  const { known, categories } = schemaSets(schema);
  const problems: RequestProblem[] = [];
  let total = 0;
  const problem = (message: string, instance: number, field?: string) => {
    total++;
    if (problems.length < MAX_LISTED_PROBLEMS)
      problems.push({ message, instance, ...(field === undefined ? {} : { field }) });
  };
  const rows = instances.map((instance: unknown, index) => {
    const row: TypedRow = {};
    if (!isObject(instance)) {
      problem(`instances[${index}] must be an object of feature values`, index);
      return row;
    }
    for (const key of Object.keys(instance)) {
      if (!known.has(key)) problem(`${where(index, key)} is not a feature of this model`, index, key);
    }
    for (const feature of schema.features) {
      const value = instance[feature.name];
      const at = where(index, feature.name);
      if (value === undefined) {
        problem(`${at} is missing (send null for an unknown value)`, index, feature.name);
      } else if (value === null && feature.type === 'numeric' && feature.nullable === false) {
        problem(
          `${at} is null, and this model has no value for an unknown input: send a number`,
          index,
          feature.name,
        );
      } else if (value === null) {
        // An unknown value, as an empty cell in training: imputed by the same transform.
        row[feature.name] = null;
      } else if (feature.type === 'numeric' && (typeof value !== 'number' || !Number.isFinite(value))) {
        problem(`${at} must be a finite number, got ${describe(value)}`, index, feature.name);
      } else if (feature.type === 'numeric' && Math.abs(value as number) > FLOAT32_MAX) {
        problem(
          `${at} is ${value}, outside the range a model input holds (float32, ±3.4e38)`,
          index,
          feature.name,
        );
      } else if (feature.type === 'categorical' && typeof value !== 'string') {
        problem(`${at} must be a string, got ${describe(value)}`, index, feature.name);
      } else if (
        feature.type === 'categorical' &&
        categories.get(feature.name)?.has(value as string) === false
      ) {
        problem(
          `${at} is ${describe(value)}, a category this model never saw (it knows ${listCategories(feature.categories)})`,
          index,
          feature.name,
        );
      } else {
        row[feature.name] = value as number | string;
      }
    }
    return row;
  });
  const [first] = problems;
  if (first) {
    const more = total > problems.length ? `; and ${total - problems.length} more` : '';
    const message =
      total === 1 ? first.message : `${total} problems: ${problems.map((p) => p.message).join('; ')}${more}`;
    throw new InvalidRequestError(message, first.field, first.instance, problems);
  }
  return rows;
}

/** Where a value of a request is: `instances[3].x` (rows) or `inputs.x[3]` (columns). */
const WHERE: Record<RequestFormat, (index: number, field: string) => string> = {
  rows: (index, field) => `instances[${index}].${field}`,
  columns: (index, field) => `inputs.${field}[${index}]`,
};

/** What typedRows checks against, made once per schema (a servable keeps its schema for its life). */
const SCHEMA_SETS = new WeakMap<
  InputSchema,
  { known: ReadonlySet<string>; categories: ReadonlyMap<string, ReadonlySet<string>> }
>();
function schemaSets(schema: InputSchema) {
  let sets = SCHEMA_SETS.get(schema);
  if (!sets) {
    sets = {
      known: new Set([...schema.features.map((f) => f.name), schema.label]),
      categories: new Map(
        schema.features.flatMap((f) =>
          f.type === 'categorical' && f.unknown === 'error' ? [[f.name, new Set(f.categories)] as const] : [],
        ),
      ),
    };
    SCHEMA_SETS.set(schema, sets);
  }
  return sets;
}

function listCategories(categories: readonly string[]): string {
  const shown = categories.slice(0, 10).map((c) => JSON.stringify(c));
  return categories.length > 10 ? `${shown.join(', ')} and ${categories.length - 10} more` : shown.join(', ');
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

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : typeof value;
}
