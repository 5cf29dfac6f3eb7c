/**
 * An Open Inference Protocol (v2) inference request, read against a model's input schema: the tensors of
 * `{"id", "parameters", "inputs": [{name, shape, datatype, data}], "outputs": [{name}]}` made the rows (or
 * images) the TF Serving routes predict on, so that both protocols validate, preprocess and score alike.
 *
 * A tabular model takes one tensor per feature, named as the feature, of shape `[N]` or `[N, 1]` (numbers for
 * a numeric feature, `BYTES` strings for a categorical one), or one `[N, F]` tensor of numbers, any name, the
 * features in the schema's order (numeric features only). An image model takes one `BYTES` tensor `[N]` of
 * base64 PNG/JPEG images. `data` is flat in row-major order, or nested as its shape. The body is read within
 * bounds that follow from the model (core/bounded-json.ts), and every error names the tensor and the index.
 */
import { type JsonBounds, parseBoundedJsonAsync } from './bounded-json.ts';
import type { TypedRow } from './dataset.ts';
import { InvalidRequestError, PayloadTooLargeError } from './errors.ts';
import { isObject } from './predict-request.ts';
import type { ImageInputSchema, InputSchema } from './serving.ts';
import { MAX_CATEGORY_CHARS, MAX_INSTANCES, typedRows } from './serving.ts';
import { modelSignature } from './signature.ts';

/** API Gateway's payload limit: a BYTES tensor of images may be as long as the body. */
const MAX_BODY_CHARS = 10 * 1024 * 1024;

/** The protocol's element types that hold numbers (a model input is float32 whatever was sent). */
const NUMERIC_TYPES = new Set([
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);

export interface InferRequest {
  readonly id?: string;
  /** The outputs asked for, by name; undefined: all of them. */
  readonly outputs?: readonly string[];
}

export type TabularInfer = InferRequest & { readonly rows: TypedRow[] };
export type ImageInfer = InferRequest & { readonly images: Uint8Array[] };

interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  /** The elements, flat in row-major order. */
  readonly data: readonly unknown[];
}

const EXAMPLE = '{"inputs": [{"name": "<feature>", "shape": [1], "datatype": "FP32", "data": [1.5]}]}';

/** Reads a tabular model's inference request: its rows, validated as TF Serving's instances are. */
export async function parseInferRequest(
  body: string | null | undefined,
  schema: InputSchema,
): Promise<TabularInfer> {
  const features = schema.features.map((f) => f.name);
  const { request, tensors } = await readRequest(body, schema, features.length);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  let instances: Record<string, unknown>[];
  let where: (index: number, field: string) => string;
  const [only] = tensors;
  if (tensors.length === 1 && only && !features.includes(only.name) && only.shape.length === 2) {
    // One [N, F] tensor: the features in the schema's order.
    const [n = 0, width] = only.shape;
    if (width !== features.length) {
      throw new InvalidRequestError(
        `inputs[0] "${only.name}" has shape [${only.shape.join(', ')}]: the model takes ${features.length} features (${features.join(', ')}), in that order`,
        'shape',
      );
    }
    const categorical = schema.features.find((f) => f.type === 'categorical');
    if (categorical) {
      throw new InvalidRequestError(
        `the model's feature "${categorical.name}" is categorical: send one tensor per feature (BYTES for it)`,
        'inputs',
      );
    }
    requireNumeric(only, 0);
    instances = Array.from({ length: instanceCount(n) }, (_, i) =>
      Object.fromEntries(features.map((name, j) => [name, only.data[i * features.length + j]])),
    );
    where = (index, field) => `inputs[0] "${only.name}" [${index}, ${features.indexOf(field)}] (${field})`;
  } else {
    const extra = tensors.find((t) => !features.includes(t.name));
    if (extra) {
      throw new InvalidRequestError(
        `input "${extra.name}" is not a feature of this model (it takes ${features.join(', ')}: one tensor each, or one [N, ${features.length}] tensor)`,
        extra.name,
      );
    }
    const missing = features.find((name) => !byName.has(name));
    if (missing !== undefined) {
      throw new InvalidRequestError(
        `input "${missing}" is missing: the model takes ${features.join(', ')}`,
        missing,
      );
    }
    let n: number | undefined;
    for (const [i, tensor] of tensors.entries()) {
      const [rows = 0, width = 1] = tensor.shape;
      if (tensor.shape.length > 2 || width !== 1) {
        throw new InvalidRequestError(
          `input "${tensor.name}" has shape [${tensor.shape.join(', ')}]: a feature's tensor is [N] or [N, 1]`,
          tensor.name,
        );
      }
      if (n !== undefined && rows !== n) {
        throw new InvalidRequestError(
          `input "${tensor.name}" holds ${rows} values, input "${tensors[0]?.name}" ${n}: every feature needs one per instance`,
          tensor.name,
        );
      }
      n = rows;
      const feature = schema.features.find((f) => f.name === tensor.name);
      if (feature?.type === 'numeric') requireNumeric(tensor, i);
      else if (tensor.datatype !== 'BYTES') {
        throw new InvalidRequestError(
          `input "${tensor.name}" is a categorical feature: its datatype is BYTES, not ${tensor.datatype}`,
          tensor.name,
        );
      }
    }
    instances = Array.from({ length: instanceCount(n ?? 0) }, (_, i) =>
      Object.fromEntries(features.map((name) => [name, byName.get(name)?.data[i]])),
    );
    where = (index, field) => `input "${field}" [${index}]`;
  }
  return { ...request, rows: typedRows(instances, schema, where) };
}

/** Reads an image model's inference request: one BYTES tensor of base64 images. */
export async function parseImageInferRequest(
  body: string | null | undefined,
  schema: ImageInputSchema,
  decode: (b64: string, where: string, index: number) => Uint8Array,
): Promise<ImageInfer> {
  const { request, tensors } = await readRequest(body, schema, 1);
  const [tensor] = tensors;
  if (tensors.length !== 1 || !tensor || tensor.datatype !== 'BYTES' || tensor.shape.length !== 1) {
    throw new InvalidRequestError(
      'an image model takes one input: a BYTES tensor of shape [N], each element a base64 PNG or JPEG',
      'inputs',
    );
  }
  instanceCount(tensor.shape[0] ?? 0);
  const images = tensor.data.map((value, i) => {
    const where = `input "${tensor.name}" [${i}]`;
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidRequestError(`${where} must be a base64 PNG or JPEG`, tensor.name, i);
    }
    return decode(value, where, i);
  });
  return { ...request, images };
}

/** The body's envelope and its tensors, each with data as many elements as its shape says. */
async function readRequest(
  body: string | null | undefined,
  schema: InputSchema | ImageInputSchema,
  inputCount: number,
): Promise<{ request: InferRequest; tensors: Tensor[] }> {
  if (body === null || body === undefined || body.trim() === '') {
    throw new InvalidRequestError(`the request has no body: send ${EXAMPLE}`);
  }
  const value = await parseBoundedJsonAsync(body, jsonBounds(schema, inputCount));
  if (!isObject(value) || !Array.isArray(value.inputs) || value.inputs.length === 0) {
    throw new InvalidRequestError(
      `the body must be an object with a non-empty "inputs" list: ${EXAMPLE}`,
      'inputs',
    );
  }
  const { id, outputs } = value;
  if (id !== undefined && typeof id !== 'string')
    throw new InvalidRequestError('"id" must be a string', 'id');
  if (value.parameters !== undefined && !isObject(value.parameters)) {
    throw new InvalidRequestError('"parameters" must be an object', 'parameters');
  }
  const names = modelSignature(schema).outputs.map((o) => o.name);
  let wanted: string[] | undefined;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs))
      throw new InvalidRequestError('"outputs" must be a list of {"name": …}', 'outputs');
    wanted = outputs.map((o, i) => {
      const name = isObject(o) ? o.name : undefined;
      if (typeof name !== 'string' || !names.includes(name)) {
        throw new InvalidRequestError(
          `outputs[${i}] names no output of this model (it has ${names.join(', ')})`,
          'outputs',
        );
      }
      return name;
    });
  }
  const seen = new Set<string>();
  const tensors = value.inputs.map((input, i): Tensor => {
    if (!isObject(input))
      throw new InvalidRequestError(`inputs[${i}] must be a tensor: ${EXAMPLE}`, 'inputs');
    const { name, shape, datatype, data } = input;
    if (typeof name !== 'string' || name === '')
      throw new InvalidRequestError(`inputs[${i}].name must be a string`, 'name');
    if (seen.has(name)) throw new InvalidRequestError(`input "${name}" is given twice`, name);
    seen.add(name);
    if (typeof datatype !== 'string') {
      throw new InvalidRequestError(`input "${name}" has no datatype (FP32, BYTES, …)`, name);
    }
    if (
      !Array.isArray(shape) ||
      shape.length === 0 ||
      !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
    ) {
      throw new InvalidRequestError(`input "${name}" needs a shape: a list of sizes, like [2, 4]`, name);
    }
    if (!Array.isArray(data)) throw new InvalidRequestError(`input "${name}" needs its data as a list`, name);
    const flat = flatten(data, name);
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (flat.length !== size) {
      throw new InvalidRequestError(
        `input "${name}" has ${flat.length} elements, its shape [${shape.join(', ')}] says ${size}`,
        name,
      );
    }
    return { name, shape: shape as number[], datatype, data: flat };
  });
  return {
    request: { ...(id === undefined ? {} : { id }), ...(wanted === undefined ? {} : { outputs: wanted }) },
    tensors,
  };
}

/** Nested data (as its shape) made flat, row-major; elements are never lists of lists deeper than the bounds let in. */
function flatten(data: readonly unknown[], name: string): unknown[] {
  if (!data.some(Array.isArray)) return data as unknown[];
  const flat: unknown[] = [];
  const walk = (items: readonly unknown[]) => {
    for (const item of items) {
      if (Array.isArray(item)) walk(item);
      else flat.push(item);
    }
  };
  walk(data);
  if (flat.length === 0) throw new InvalidRequestError(`input "${name}" has no elements`, name);
  return flat;
}

function requireNumeric(tensor: Tensor, index: number): void {
  if (!NUMERIC_TYPES.has(tensor.datatype)) {
    throw new InvalidRequestError(
      `inputs[${index}] "${tensor.name}" has datatype ${tensor.datatype}: a numeric feature takes FP32 (or another number type)`,
      tensor.name,
    );
  }
}

/** The instance count of the first dimension: at least one, at most MAX_INSTANCES (a 413 past it). */
function instanceCount(n: number): number {
  if (n > MAX_INSTANCES) {
    throw new PayloadTooLargeError(`the request holds ${n} instances: at most ${MAX_INSTANCES} are allowed`);
  }
  if (n < 1) throw new InvalidRequestError('the request holds no instances', 'shape');
  return n;
}

/**
 * The JSON bounds of a request to this model: its tensors' elements (the instance bound times the features),
 * a few keys per tensor, nesting as deep as an `[N, F]` tensor written nested (and its parameters).
 */
function jsonBounds(schema: InputSchema | ImageInputSchema, inputCount: number): JsonBounds {
  const elements = MAX_INSTANCES * Math.max(inputCount, 1);
  const keys = Math.max(inputCount + 8, 16);
  return {
    maxDepth: 6,
    maxArrayItems: Math.max(elements, keys),
    maxObjectKeys: keys,
    maxStringChars: schema.kind === 'image' ? MAX_BODY_CHARS : MAX_CATEGORY_CHARS,
    maxNumberChars: 256,
    maxValues: elements * 2 + keys * (inputCount + 4) + 64,
  };
}
