/**
 * The envelope of a TF Serving REST predict request, shared by tabular and image models: the row format
 * `{"instances": [...]}` and the columnar format `{"inputs": {name: [...]}}` (or `{"inputs": [...]}`), as
 * JSON that may carry TF Serving's `NaN` / `Infinity` literals — those are read as numbers, so that
 * validation can name the field and instance that holds one, instead of failing the whole body as malformed.
 *
 * The body is read within bounds (core/bounded-json.ts) that follow from the model: at most `maxInstances`
 * instances, as many fields per instance as the model has inputs (and a few more), strings of at most
 * `maxStringChars`. A body past a bound is refused as soon as the bound is passed — before the rest is read
 * and before any row is built — so the work a request causes is bounded by what a prediction needs.
 */
import { JsonBoundError, type JsonBounds, parseBoundedJsonAsync } from './bounded-json.ts';
import { InvalidRequestError, PayloadTooLargeError } from './errors.ts';

export type RequestFormat = 'rows' | 'columns';

/**
 * What a request's body holds: Predict's `instances` or `inputs`, or Classify's and Regress's `examples` (with
 * an optional `context` of features every example shares).
 */
export type RequestShape = 'predict' | 'examples';

export interface PredictEnvelope {
  readonly format: RequestFormat;
  /** One item per instance: an object of named values (or whatever the client put there). */
  readonly instances: readonly unknown[];
}

/** What one request to a model may carry. */
export interface EnvelopeBounds {
  readonly maxInstances: number;
  /** Named values per instance (a model's inputs; the label, if sent, is one more). */
  readonly maxFields: number;
  /** Characters of one string value (a category; a base64 image). */
  readonly maxStringChars: number;
}

/** The JSON bounds of a request envelope: `{instances: [{field: value}]}` or `{inputs: {field: [values]}}`. */
export function envelopeJsonBounds(bounds: EnvelopeBounds): JsonBounds {
  // A few keys beside "instances"/"inputs" (TF Serving's "signature_name"), a few fields more than the model
  // has (so that an unknown field is named by validation, not refused as a size), one nesting level spare.
  const keys = Math.max(bounds.maxFields + 4, 8);
  return {
    maxDepth: 4,
    maxArrayItems: Math.max(bounds.maxInstances, keys),
    maxObjectKeys: keys,
    maxStringChars: bounds.maxStringChars,
    // A float64 needs at most 24 characters to be exact; a client's own formatting may write more.
    maxNumberChars: 256,
    maxValues: bounds.maxInstances * (keys + 1) + 16,
  };
}

/** The one signature a model serves, as TF Serving names a model's default. */
export const SIGNATURE_NAME = 'serving_default';

/**
 * Reads the envelope: a non-empty body, valid JSON within the bounds, an object with `instances` (a
 * non-empty array) or `inputs` (an object of equal-length arrays, or an array), at most `maxInstances` of
 * them. Past the instance bound is a 413 (PayloadTooLargeError); any other bound, a 400 naming where.
 * `signature_name`, when sent, must be the model's one signature (`serving_default`), as TF Serving refuses
 * a signature the model does not have. With `featureOrder` (a table's features, in the schema's order), an
 * instance may be a list of values in that order — TF Serving's tensor-style row — and becomes the object.
 */
export async function parseEnvelope(
  body: string | undefined | null,
  bounds: EnvelopeBounds,
  example: string,
  featureOrder?: readonly string[],
  shape: RequestShape = 'predict',
): Promise<PredictEnvelope> {
  if (body === undefined || body === null || body.trim() === '') {
    throw new InvalidRequestError(`the request body is empty; send ${example}`, 'instances');
  }
  let parsed: unknown;
  try {
    parsed = await parseBoundedJsonAsync(body, envelopeJsonBounds(bounds));
  } catch (error) {
    if (
      error instanceof JsonBoundError &&
      error.bound === 'maxArrayItems' &&
      /^(instances|inputs|examples)/.test(error.path)
    ) {
      throw new PayloadTooLargeError(
        `"${error.path}" has more than ${bounds.maxInstances} instances; at most ${bounds.maxInstances} are allowed`,
        error.path.split(/[.[]/)[0],
      );
    }
    throw error;
  }
  if (shape === 'examples') return examplesOf(parsed, bounds.maxInstances);
  if (!isObject(parsed) || (!('instances' in parsed) && !('inputs' in parsed))) {
    throw new InvalidRequestError(
      `the request body must be an object with an "instances" array or an "inputs" object, as in ${example}`,
      'instances',
    );
  }
  if ('instances' in parsed && 'inputs' in parsed) {
    throw new InvalidRequestError('send either "instances" (rows) or "inputs" (columns), not both', 'inputs');
  }
  checkSignature(parsed.signature_name);
  const envelope: PredictEnvelope =
    'instances' in parsed
      ? { format: 'rows', instances: named(rowsOf(parsed.instances, 'instances'), 'instances', featureOrder) }
      : {
          format: 'columns',
          instances: named(columnsToRows(parsed.inputs, bounds.maxInstances), 'inputs', featureOrder),
        };
  if (envelope.instances.length > bounds.maxInstances) {
    const field = envelope.format === 'rows' ? 'instances' : 'inputs';
    throw new PayloadTooLargeError(
      `"${field}" has ${envelope.instances.length} instances; at most ${bounds.maxInstances} are allowed`,
      field,
    );
  }
  return envelope;
}

/**
 * TF Serving's Classify and Regress body: `{"examples": [{feature: value}], "context": {feature: value}}`,
 * each example with the context's features (an example's own value wins), as rows.
 */
function examplesOf(parsed: unknown, maxInstances: number): PredictEnvelope {
  if (!isObject(parsed) || !('examples' in parsed)) {
    throw new InvalidRequestError(
      'the request body must be an object with an "examples" array, as in {"examples": [{"feature": 1.5}]}',
      'examples',
    );
  }
  checkSignature(parsed.signature_name);
  const examples = rowsOf(parsed.examples, 'examples');
  if (examples.length > maxInstances) {
    throw new PayloadTooLargeError(
      `"examples" has ${examples.length} examples; at most ${maxInstances} are allowed`,
      'examples',
    );
  }
  const { context } = parsed;
  if (context !== undefined && !isObject(context)) {
    throw new InvalidRequestError('"context" must be an object of feature values', 'context');
  }
  const instances = examples.map((example, index) => {
    if (!isObject(example)) {
      throw new InvalidRequestError(
        `examples[${index}] must be an object of feature values`,
        'examples',
        index,
      );
    }
    return context ? { ...context, ...example } : example;
  });
  return { format: 'rows', instances };
}

function checkSignature(name: unknown): void {
  if (name === undefined || name === SIGNATURE_NAME) return;
  throw new InvalidRequestError(
    typeof name === 'string'
      ? `the model has no signature ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)}: its one signature is "${SIGNATURE_NAME}"`
      : `"signature_name" must be a string: the model's one signature is "${SIGNATURE_NAME}"`,
    'signature_name',
  );
}

/**
 * Rows that are lists of values (tensor-style: `[[6.1, 2.8, 4.7, 1.2]]`) as objects of the features in their
 * order; other rows as they are. A list of another length is a 400 that says the order.
 */
function named(rows: unknown[], field: string, order: readonly string[] | undefined): unknown[] {
  if (!order || !rows.some(Array.isArray)) return rows;
  return rows.map((row, index) => {
    if (!Array.isArray(row)) return row;
    if (row.length !== order.length) {
      throw new InvalidRequestError(
        `${field}[${index}] has ${row.length} values; a row as a list has one per feature, in this order: ${order.join(', ')}`,
        field,
        index,
      );
    }
    return Object.fromEntries(order.map((name, i) => [name, row[i]]));
  });
}

function rowsOf(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidRequestError(`"${field}" must be a non-empty array`, field);
  }
  return value;
}

/**
 * `{"a": [1, 2], "b": ["x", "y"]}` → `[{a: 1, b: "x"}, {a: 2, b: "y"}]`; a list is taken as rows. The column
 * lengths are checked first: no row is built for a request past the instance bound.
 */
function columnsToRows(inputs: unknown, maxInstances: number): unknown[] {
  if (Array.isArray(inputs)) return rowsOf(inputs, 'inputs');
  if (!isObject(inputs)) {
    throw new InvalidRequestError(
      '"inputs" must be an object of equal-length arrays, one per feature',
      'inputs',
    );
  }
  const columns = Object.entries(inputs);
  if (columns.length === 0) throw new InvalidRequestError('"inputs" has no features', 'inputs');
  let length: number | undefined;
  for (const [name, values] of columns) {
    if (!Array.isArray(values)) {
      throw new InvalidRequestError(`inputs.${name} must be an array of values, one per instance`, name);
    }
    if (length !== undefined && values.length !== length) {
      throw new InvalidRequestError(
        `inputs.${name} has ${values.length} values, but inputs.${columns[0]?.[0]} has ${length}: every feature needs one value per instance`,
        name,
      );
    }
    length = values.length;
  }
  if (!length) throw new InvalidRequestError('"inputs" has no instances', 'inputs');
  if (length > maxInstances) {
    throw new PayloadTooLargeError(
      `"inputs" has ${length} instances; at most ${maxInstances} are allowed`,
      'inputs',
    );
  }
  return Array.from({ length }, (_, i) =>
    Object.fromEntries(columns.map(([name, values]) => [name, (values as unknown[])[i]])),
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
