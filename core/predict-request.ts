/**
 * The envelope of a TF Serving REST predict request, shared by tabular and image models: the row format
 * `{"instances": [...]}` and the columnar format `{"inputs": {name: [...]}}` (or `{"inputs": [...]}`), as
 * JSON that may carry TF Serving's `NaN` / `Infinity` literals — those are read, so that validation can name
 * the field and instance that holds one, instead of failing the whole body as malformed.
 */
import { InvalidRequestError, PayloadTooLargeError } from './errors.ts';

export type RequestFormat = 'rows' | 'columns';

export interface PredictEnvelope {
  readonly format: RequestFormat;
  /** One item per instance: an object of named values (or whatever the client put there). */
  readonly instances: readonly unknown[];
}

const NON_FINITE = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};
type NonFiniteToken = keyof typeof NON_FINITE;
/** What a non-finite literal becomes while parsing: a string no JSON client can send (it has a NUL). */
const SENTINEL_PREFIX = '\u0000nimbus:';

/** The number a sentinel stands for, or undefined for any other value. */
export function nonFiniteValue(value: unknown): number | undefined {
  if (typeof value !== 'string' || !value.startsWith(SENTINEL_PREFIX)) return undefined;
  return NON_FINITE[value.slice(SENTINEL_PREFIX.length) as NonFiniteToken];
}

/** JSON.parse, with bare `NaN`, `Infinity` and `-Infinity` (outside strings) read as sentinels. */
export function parseJsonWithNonFinite(body: string): unknown {
  if (!/NaN|Infinity/.test(body)) return JSON.parse(body);
  let out = '';
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string;
    if (inString) {
      out += char;
      if (char === '\\') {
        out += body[i + 1] ?? '';
        i++;
      } else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') {
      inString = true;
      out += char;
      continue;
    }
    const token = (['NaN', 'Infinity', '-Infinity'] as const).find((t) => body.startsWith(t, i));
    if (token) {
      out += JSON.stringify(SENTINEL_PREFIX + token);
      i += token.length - 1;
      continue;
    }
    out += char;
  }
  return JSON.parse(out);
}

/**
 * Reads the envelope: a non-empty body, valid JSON, an object with `instances` (a non-empty array) or
 * `inputs` (an object of equal-length arrays, or an array), at most `maxInstances` of them.
 */
export function parseEnvelope(
  body: string | undefined | null,
  maxInstances: number,
  example: string,
): PredictEnvelope {
  if (body === undefined || body === null || body.trim() === '') {
    throw new InvalidRequestError(`the request body is empty; send ${example}`, 'instances');
  }
  let parsed: unknown;
  try {
    parsed = parseJsonWithNonFinite(body);
  } catch (error) {
    throw new InvalidRequestError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed) || (!('instances' in parsed) && !('inputs' in parsed))) {
    throw new InvalidRequestError(
      `the request body must be an object with an "instances" array or an "inputs" object, as in ${example}`,
      'instances',
    );
  }
  if ('instances' in parsed && 'inputs' in parsed) {
    throw new InvalidRequestError('send either "instances" (rows) or "inputs" (columns), not both', 'inputs');
  }
  const envelope: PredictEnvelope =
    'instances' in parsed
      ? { format: 'rows', instances: rowsOf(parsed.instances, 'instances') }
      : { format: 'columns', instances: columnsToRows(parsed.inputs) };
  if (envelope.instances.length > maxInstances) {
    const field = envelope.format === 'rows' ? 'instances' : 'inputs';
    throw new PayloadTooLargeError(
      `"${field}" has ${envelope.instances.length} instances; at most ${maxInstances} are allowed`,
      field,
    );
  }
  return envelope;
}

function rowsOf(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidRequestError(`"${field}" must be a non-empty array`, field);
  }
  return value;
}

/** `{"a": [1, 2], "b": ["x", "y"]}` → `[{a: 1, b: "x"}, {a: 2, b: "y"}]`; a list is taken as rows. */
function columnsToRows(inputs: unknown): unknown[] {
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
  return Array.from({ length }, (_, i) =>
    Object.fromEntries(columns.map(([name, values]) => [name, (values as unknown[])[i]])),
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
