/**
 * Models trained elsewhere, as ONNX files: what an upload under `models/<name>/` is (its limits, operators,
 * inputs and outputs, read from the file itself with onnx-proto), what its optional manifest
 * (`models/<name>/model.json`) may say, and how the platform's request contract maps onto the model's input
 * tensors (the binding, `onnx.json` in the version's folder). Running the model is aws/onnx-models.ts's.
 */
import onnxProto from 'onnx-proto';
import { ModelImportError } from './errors.ts';
import { formatBytes } from './limits.ts';
import { type GateSpec, parseGateSpec } from './model-registry.ts';
import { nameProblem } from './names.ts';
import type { ImagePreprocessor, NumericFeature, Preprocessor } from './preprocessor.ts';
import type { ImageInputSchema, InputSchema } from './serving.ts';

const { onnx } = onnxProto;

/** Limits of an imported model file. */
export const ONNX_LIMITS = {
  /** The largest `.onnx` file: it is read whole, and its session holds about as much again in memory. */
  maxBytes: 100 * 1024 * 1024,
  /** Nodes of the graph and its subgraphs together. */
  maxNodes: 50_000,
  maxInputs: 64,
  /** The widest tabular input (values per instance, all inputs together). */
  maxFeatures: 2000,
  /** Sides of an image input, in pixels. */
  maxImageSide: 1024,
  maxClasses: 10_000,
  /** The largest `model.json`. */
  maxManifestBytes: 32 * 1024,
} as const;

/**
 * The operator sets a model may use: ONNX's own (`ai.onnx`, named `""` in files) and its classical-ML set
 * (`ai.onnx.ml`: the trees, linear models and encoders that scikit-learn's and LightGBM's converters write).
 * Any other domain is a custom operator (a kernel compiled elsewhere) and is refused.
 */
export const ALLOWED_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml']);

/** What the file says of itself: the facts the import checks and the lineage records. */
export interface OnnxFacts {
  readonly irVersion: number;
  /** Operator set versions by domain (`ai.onnx` for the default domain). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly graphName?: string;
  /** Distinct operators, `domain::Op` outside the default domain. */
  readonly operators: readonly string[];
  readonly nodes: number;
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  /** The file's own metadata (`metadata_props`), as written by its exporter. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** One graph input or output: its element type and its dimensions (a number, or a name for a free one). */
export interface OnnxValue {
  readonly name: string;
  /** `float32`, `float64`, `int64`, `string`, … or `sequence`/`map` for a non-tensor value. */
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

/** The manifest of an import, `models/<name>/model.json`: every field optional. */
export interface OnnxManifest {
  /** @default 'classification' */
  readonly task?: 'classification' | 'regression';
  /** The class names, in the order of the model's output columns. @default "0", "1", … */
  readonly labels?: readonly string[];
  /** The label column's name: in the evaluation dataset, and in the schema. @default 'label' */
  readonly label?: string;
  /**
   * A tabular model: for each input tensor ([batch, k]), the names of its k features, in order — the fields
   * of a request's instance. @default one feature named after an input of width 1, else `<input>_<i>`
   */
  readonly inputs?: Readonly<Record<string, readonly string[]>>;
  /** An image model (an input [batch, C, H, W] or [batch, H, W, C]): how pixels become its input. */
  readonly image?: {
    readonly layout?: 'NCHW' | 'NHWC';
    /** Each pixel (0–255) is divided by this. @default 255 */
    readonly scale?: number;
    /** Then, per channel, (x − mean) / std. @default 0 and 1 */
    readonly mean?: readonly number[];
    readonly std?: readonly number[];
  };
  /** The output that answers, and what it holds. @default the first float output; `probabilities` */
  readonly output?: { readonly name?: string; readonly kind?: OutputKind };
  /** A CSV in the datasets bucket (features and the label column) the model is evaluated and gated on. */
  readonly evaluation?: { readonly key: string };
  /** The champion/challenger gate for this import (core/model-registry.ts GateSpec). */
  readonly gate?: GateSpec;
}

/** Probabilities pass as they are, logits go through a softmax, a value is a regressor's answer. */
export type OutputKind = 'probabilities' | 'logits' | 'value';

/** `onnx.json` of an imported version: how a request's values become the model's input tensors. */
export interface OnnxBinding {
  readonly version: 1;
  /** Tabular: each input's slice of an instance's feature vector, in order. */
  readonly inputs: readonly {
    readonly name: string;
    readonly offset: number;
    readonly width: number;
    readonly type: 'float32' | 'float64';
    /** The tensor's rank: [batch] (1) or [batch, width] (2). */
    readonly rank: 1 | 2;
  }[];
  /** Image: the one input, fed the decoded pixels (height × width × channels, 0–255 over `scale`). */
  readonly image?: {
    readonly input: string;
    readonly layout: 'NCHW' | 'NHWC';
    readonly height: number;
    readonly width: number;
    readonly channels: number;
    readonly scale: number;
    readonly mean: readonly number[];
    readonly std: readonly number[];
  };
  readonly output: { readonly name: string; readonly kind: OutputKind; readonly width: number };
}

/** Reads a `.onnx` file's header and graph, refusing what the platform does not run; never runs it. */
export function inspectOnnx(bytes: Uint8Array, key: string): OnnxFacts {
  if (bytes.byteLength > ONNX_LIMITS.maxBytes) {
    throw new ModelImportError(
      `${key} is ${formatBytes(bytes.byteLength)}, past ${formatBytes(ONNX_LIMITS.maxBytes)} (the model file cap)`,
    );
  }
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ModelImportError(`${key} is not an ONNX model: ${(error as Error).message}`);
  }
  const graph = model.graph;
  if (!graph || !model.irVersion) {
    throw new ModelImportError(`${key} is not an ONNX model: it has no graph or no IR version`);
  }
  const opsets: Record<string, number> = {};
  for (const opset of model.opsetImport ?? []) opsets[opset.domain || 'ai.onnx'] = Number(opset.version);
  const operators = new Set<string>();
  let nodes = 0;
  const refused: string[] = [];
  const external: string[] = [];
  const visit = (g: onnxProto.onnx.IGraphProto) => {
    for (const tensor of g.initializer ?? []) {
      if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) external.push(tensor.name ?? '?');
    }
    for (const node of g.node ?? []) {
      nodes++;
      const domain = node.domain ?? '';
      const name = domain && domain !== 'ai.onnx' ? `${domain}::${node.opType}` : (node.opType ?? '?');
      operators.add(name);
      if (!ALLOWED_DOMAINS.has(domain)) refused.push(name);
      for (const attribute of node.attribute ?? []) {
        if (attribute.g) visit(attribute.g);
        for (const sub of attribute.graphs ?? []) visit(sub);
      }
    }
  };
  visit(graph);
  if (refused.length > 0) {
    throw new ModelImportError(
      `${key} uses custom operators ${[...new Set(refused)].join(', ')}: only ONNX's own operator sets (ai.onnx, ai.onnx.ml) run here`,
    );
  }
  if ((model.functions?.length ?? 0) > 0) {
    throw new ModelImportError(`${key} defines model-local functions, which the platform does not run`);
  }
  if (external.length > 0) {
    throw new ModelImportError(
      `${key} keeps tensors ${external.slice(0, 5).join(', ')} in external files: export it as one file (in PyTorch, a model under 2 GB is one file; onnx.save(..., save_as_external_data=False))`,
    );
  }
  if (nodes > ONNX_LIMITS.maxNodes) {
    throw new ModelImportError(`${key} has ${nodes} nodes, past ${ONNX_LIMITS.maxNodes}`);
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(graphValue);
  const outputs = (graph.output ?? []).map(graphValue);
  if (inputs.length === 0) throw new ModelImportError(`${key} has no inputs`);
  if (inputs.length > ONNX_LIMITS.maxInputs) {
    throw new ModelImportError(`${key} has ${inputs.length} inputs, past ${ONNX_LIMITS.maxInputs}`);
  }
  if (outputs.length === 0) throw new ModelImportError(`${key} has no outputs`);
  const metadata: Record<string, string> = {};
  for (const entry of model.metadataProps ?? []) {
    if (entry.key) metadata[entry.key.slice(0, 200)] = (entry.value ?? '').slice(0, 1000);
  }
  return {
    irVersion: Number(model.irVersion),
    opsets,
    ...(model.producerName ? { producerName: model.producerName.slice(0, 200) } : {}),
    ...(model.producerVersion ? { producerVersion: model.producerVersion.slice(0, 200) } : {}),
    ...(graph.name ? { graphName: graph.name.slice(0, 200) } : {}),
    operators: [...operators].sort(),
    nodes,
    inputs,
    outputs,
    metadata,
  };
}

function graphValue(value: onnxProto.onnx.IValueInfoProto): OnnxValue {
  const type = value.type;
  const name = value.name ?? '';
  if (type?.tensorType) {
    return {
      name,
      type: ELEMENT_TYPES[type.tensorType.elemType ?? 0] ?? `element type ${type.tensorType.elemType}`,
      shape: (type.tensorType.shape?.dim ?? []).map((d) =>
        d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0
          ? Number(d.dimValue)
          : d.dimParam || '?',
      ),
    };
  }
  return { name, type: type?.sequenceType ? 'sequence' : type?.mapType ? 'map' : 'unknown', shape: [] };
}

/** Checks a parsed `model.json`: every problem named, with the field. */
export function parseOnnxManifest(value: unknown, key: string): OnnxManifest {
  const fail = (message: string): never => {
    throw new ModelImportError(`${key} is not a valid model manifest: ${message}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('it must be a JSON object');
  const { task, labels, label, inputs, image, output, evaluation, gate, description, ...rest } =
    value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    fail(
      `unknown field(s) ${unknown.join(', ')} (task, labels, label, inputs, image, output, evaluation, gate, description)`,
    );
  }
  if (task !== undefined && task !== 'classification' && task !== 'regression') {
    fail('"task" must be "classification" or "regression"');
  }
  if (description !== undefined && (typeof description !== 'string' || description.length > 1000)) {
    fail('"description" must be a string of at most 1000 characters');
  }
  const names = (field: string, list: unknown, max: number): string[] => {
    if (!Array.isArray(list) || list.length === 0 || list.length > max) {
      return fail(`"${field}" must be a list of 1 to ${max} names`);
    }
    for (const item of list) {
      if (typeof item !== 'string' || item.length === 0 || item.length > 200) {
        fail(`"${field}" must hold names of 1 to 200 characters`);
      }
    }
    if (new Set(list).size !== list.length) fail(`"${field}" names one entry twice`);
    return list as string[];
  };
  if (labels !== undefined) names('labels', labels, ONNX_LIMITS.maxClasses);
  if (label !== undefined && (typeof label !== 'string' || label.length === 0 || label.length > 200)) {
    fail('"label" must be a column name');
  }
  if (inputs !== undefined) {
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
      fail('"inputs" must map each input tensor to its feature names');
    }
    const all: string[] = [];
    for (const [input, features] of Object.entries(inputs as object)) {
      all.push(...names(`inputs.${input}`, features, ONNX_LIMITS.maxFeatures));
    }
    if (new Set(all).size !== all.length) fail('"inputs" names one feature twice');
  }
  if (image !== undefined) {
    if (typeof image !== 'object' || image === null || Array.isArray(image))
      fail('"image" must be an object');
    const { layout, scale, mean, std, ...other } = image as Record<string, unknown>;
    if (Object.keys(other).length > 0) fail(`"image" has unknown field(s) ${Object.keys(other).join(', ')}`);
    if (layout !== undefined && layout !== 'NCHW' && layout !== 'NHWC') {
      fail('"image.layout" must be "NCHW" or "NHWC"');
    }
    if (scale !== undefined && !(typeof scale === 'number' && Number.isFinite(scale) && scale > 0)) {
      fail('"image.scale" must be a number > 0');
    }
    for (const [field, list] of [
      ['mean', mean],
      ['std', std],
    ] as const) {
      if (
        list !== undefined &&
        !(
          Array.isArray(list) &&
          (list.length === 1 || list.length === 3) &&
          list.every((v) => typeof v === 'number' && Number.isFinite(v) && (field === 'mean' || v > 0))
        )
      ) {
        fail(
          `"image.${field}" must be 1 or 3 ${field === 'std' ? 'positive ' : ''}numbers (one per channel)`,
        );
      }
    }
  }
  if (output !== undefined) {
    if (typeof output !== 'object' || output === null || Array.isArray(output))
      fail('"output" must be an object');
    const { name, kind, ...other } = output as Record<string, unknown>;
    if (Object.keys(other).length > 0) fail(`"output" has unknown field(s) ${Object.keys(other).join(', ')}`);
    if (name !== undefined && typeof name !== 'string') fail('"output.name" must be a string');
    if (kind !== undefined && kind !== 'probabilities' && kind !== 'logits' && kind !== 'value') {
      fail('"output.kind" must be "probabilities", "logits" or "value"');
    }
  }
  if (evaluation !== undefined) {
    const evalKey = (evaluation as { key?: unknown } | null)?.key;
    if (typeof evalKey !== 'string' || !/^[^\s]{1,1024}$/.test(evalKey) || evalKey.includes('..')) {
      fail('"evaluation.key" must be the key of a CSV in the datasets bucket');
    }
  }
  let parsedGate: GateSpec | undefined;
  if (gate !== undefined) {
    try {
      parsedGate = parseGateSpec(gate);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  return { ...(value as OnnxManifest), ...(parsedGate ? { gate: parsedGate } : {}) };
}

/** What serves an imported model: the binding, and the preprocessor and schema the request contract reads. */
export interface OnnxServable {
  readonly binding: OnnxBinding;
  readonly preprocessor: Preprocessor | ImagePreprocessor;
  readonly schema: InputSchema | ImageInputSchema;
}

/**
 * The binding of a model's inputs and output, from its facts and its manifest: a rank-4 input is an image,
 * else every input is a [batch, k] (or [batch]) float tensor of tabular features. An output whose width the
 * file leaves free is as wide as the manifest's labels (one value for a regressor).
 */
export function bindOnnx(facts: OnnxFacts, manifest: OnnxManifest, key: string): OnnxServable {
  const fail = (message: string): never => {
    throw new ModelImportError(`${key}: ${message}`);
  };
  const task = manifest.task ?? 'classification';
  const output = chooseOutput(facts, manifest, fail);
  const declared = output.shape.length === 2 ? output.shape[1] : output.shape.length === 1 ? 1 : undefined;
  const width = typeof declared === 'number' ? declared : task === 'regression' ? 1 : manifest.labels?.length;
  if (width === undefined) {
    return fail(`output "${output.name}" leaves its width free: name the classes in model.json "labels"`);
  }
  const kind: OutputKind = manifest.output?.kind ?? (task === 'regression' ? 'value' : 'probabilities');
  if (task === 'regression' && (kind !== 'value' || width !== 1)) {
    fail(`a regressor answers one value per instance; output "${output.name}" has ${width}`);
  }
  if (task === 'classification' && kind === 'value')
    fail('a classifier\'s output is "probabilities" or "logits"');
  if (task === 'classification' && width < 2) {
    fail(`output "${output.name}" has ${width} column(s): a classifier answers one probability per class`);
  }
  const classes =
    task === 'regression' ? [] : (manifest.labels ?? Array.from({ length: width }, (_, i) => String(i)));
  if (task === 'classification' && classes.length !== width) {
    fail(`the manifest names ${classes.length} labels; output "${output.name}" has ${width} columns`);
  }
  const label = manifest.label ?? 'label';
  const binding = { version: 1 as const, output: { name: output.name, kind, width } };
  const imageInput = facts.inputs.find((input) => input.shape.length === 4);
  if (imageInput) {
    if (facts.inputs.length > 1) fail('an image model takes one input');
    if (task !== 'classification') fail('an image model here is a classifier');
    return bindImage(imageInput, manifest, classes, binding, fail);
  }
  const inputs: OnnxBinding['inputs'][number][] = [];
  const features: NumericFeature[] = [];
  for (const input of facts.inputs) {
    if (input.type !== 'float32' && input.type !== 'float64') {
      fail(
        `input "${input.name}" is ${input.type}: tabular inputs here are float tensors (convert categories to numbers, or one-hot them, in the exported graph)`,
      );
    }
    if (input.shape.length !== 1 && input.shape.length !== 2) {
      fail(`input "${input.name}" has rank ${input.shape.length}: a tabular input is [batch, features]`);
    }
    const k = input.shape.length === 1 ? 1 : input.shape[1];
    if (typeof k !== 'number') fail(`input "${input.name}" leaves its feature dimension free ("${k}")`);
    const names =
      manifest.inputs?.[input.name] ??
      (k === 1 ? [input.name] : Array.from({ length: k as number }, (_, i) => `${input.name}_${i}`));
    if (names.length !== k) {
      fail(`the manifest names ${names.length} features for input "${input.name}", which takes ${k}`);
    }
    inputs.push({
      name: input.name,
      offset: features.length,
      width: k as number,
      type: input.type as 'float32' | 'float64',
      rank: input.shape.length as 1 | 2,
    });
    for (const name of names) {
      const problem = featureProblem(name, label);
      if (problem) fail(problem);
      features.push({ name, type: 'numeric', mean: 0, std: 1, impute: 0, center: 0, scale: 1 });
    }
  }
  const unknownInputs = Object.keys(manifest.inputs ?? {}).filter((n) => !inputs.some((i) => i.name === n));
  if (unknownInputs.length > 0)
    fail(`the manifest names inputs ${unknownInputs.join(', ')}, which the model has not`);
  if (features.length > ONNX_LIMITS.maxFeatures) {
    fail(`the model takes ${features.length} features, past ${ONNX_LIMITS.maxFeatures}`);
  }
  const preprocessor: Preprocessor = {
    version: 1,
    kind: 'tabular',
    ...(task === 'regression' ? { task: 'regression' as const } : {}),
    label,
    classes,
    features,
    width: features.length,
  };
  const schema: InputSchema = {
    kind: 'tabular',
    task,
    label,
    classes,
    features: features.map((f) => ({ name: f.name, type: 'numeric' as const, nullable: false as const })),
  };
  return { binding: { ...binding, inputs }, preprocessor, schema };
}

function bindImage(
  input: OnnxValue,
  manifest: OnnxManifest,
  classes: readonly string[],
  binding: Pick<OnnxBinding, 'version' | 'output'>,
  fail: (message: string) => never,
): OnnxServable {
  if (input.type !== 'float32') fail(`image input "${input.name}" is ${input.type}: it must be float32`);
  const [, a, b, c] = input.shape;
  const layout =
    manifest.image?.layout ?? (a === 1 || a === 3 ? 'NCHW' : c === 1 || c === 3 ? 'NHWC' : undefined);
  if (!layout) fail(`image input "${input.name}" is [${input.shape.join(', ')}]: set "image.layout"`);
  const [channels, height, width] = layout === 'NCHW' ? [a, b, c] : [c, a, b];
  if (channels !== 1 && channels !== 3) {
    fail(`image input "${input.name}" has ${channels} channels: 1 (grey) or 3 (RGB)`);
  }
  for (const side of [height, width]) {
    if (typeof side !== 'number' || side > ONNX_LIMITS.maxImageSide) {
      fail(
        `image input "${input.name}" must have a fixed height and width up to ${ONNX_LIMITS.maxImageSide}`,
      );
    }
  }
  const perChannel = (list: readonly number[] | undefined, fill: number) =>
    Array.from({ length: channels as number }, (_, i) => list?.[list.length === 1 ? 0 : i] ?? fill);
  const spec = {
    width: width as number,
    height: height as number,
    channels: channels as 1 | 3,
  };
  const preprocessor: ImagePreprocessor = {
    version: 1,
    kind: 'image',
    label: 'label',
    classes: [...classes],
    image: spec,
    width: spec.width * spec.height * spec.channels,
  };
  const schema: ImageInputSchema = {
    kind: 'image',
    task: 'classification',
    classes: [...classes],
    image: spec,
    formats: ['png', 'jpeg'],
  };
  return {
    binding: {
      ...binding,
      inputs: [],
      image: {
        input: input.name,
        layout: layout as 'NCHW' | 'NHWC',
        ...spec,
        scale: manifest.image?.scale ?? 255,
        mean: perChannel(manifest.image?.mean, 0),
        std: perChannel(manifest.image?.std, 1),
      },
    },
    preprocessor,
    schema,
  };
}

function chooseOutput(facts: OnnxFacts, manifest: OnnxManifest, fail: (message: string) => never): OnnxValue {
  const wanted = manifest.output?.name;
  if (wanted !== undefined) {
    const found = facts.outputs.find((o) => o.name === wanted);
    if (!found)
      fail(
        `the model has no output "${wanted}" (it has ${facts.outputs.map((o) => `"${o.name}"`).join(', ')})`,
      );
    if (found?.type !== 'float32' && found?.type !== 'float64') {
      fail(`output "${wanted}" is ${found?.type}: the answering output is a float tensor`);
    }
    return found as OnnxValue;
  }
  const floats = facts.outputs.filter(
    (o) => (o.type === 'float32' || o.type === 'float64') && o.shape.length >= 1 && o.shape.length <= 2,
  );
  const named = floats.find((o) => /prob/i.test(o.name));
  const chosen = named ?? floats[0];
  if (!chosen) {
    fail(
      `none of the outputs (${facts.outputs.map((o) => `"${o.name}": ${o.type}`).join(', ')}) is a float tensor [batch, classes]; a converter's zipmap output is not served (skl2onnx: options={"zipmap": False})`,
    );
  }
  return chosen as OnnxValue;
}

/** Why a feature name cannot be a field of a request, if it cannot. */
function featureProblem(name: string, label: string): string | undefined {
  if (name === label) return `feature "${name}" has the label column's name`;
  if (name.length > 200) return `feature name "${name.slice(0, 40)}…" is longer than 200 characters`;
  return undefined;
}

/** The model's name from an upload's key, `models/<name>/<file>.onnx`: checked like any model name. */
export function parseModelKey(key: string): { model: string; file: string } {
  const match = /^models\/([^/]+)\/([^/]+\.onnx)$/i.exec(key);
  if (!match?.[1] || !match[2]) {
    throw new ModelImportError(`${key} is not models/<name>/<file>.onnx`);
  }
  const problem = nameProblem('model', match[1]);
  if (problem) throw new ModelImportError(problem);
  return { model: match[1], file: match[2] };
}

/** Softmax of each row, in place. */
export function softmaxRows(rows: number[][]): number[][] {
  for (const row of rows) {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    for (let i = 0; i < row.length; i++) {
      row[i] = Math.exp((row[i] as number) - max);
      sum += row[i] as number;
    }
    for (let i = 0; i < row.length; i++) row[i] = (row[i] as number) / sum;
  }
  return rows;
}

/** Why rows are not class probabilities (a value below 0 or above 1, or a row that does not sum to 1). */
export function notProbabilities(rows: readonly (readonly number[])[]): string | undefined {
  for (const [i, row] of rows.entries()) {
    if (row.some((v) => !(v >= -1e-6 && v <= 1 + 1e-6))) return `row ${i} has values outside [0, 1]`;
    const sum = row.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-3) return `row ${i} sums to ${sum.toPrecision(4)}, not 1`;
  }
  return undefined;
}
