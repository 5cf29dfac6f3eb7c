/**
 * A Nimbus tabular model as one ONNX file that any ONNX runtime runs as the predict API does: the
 * preprocessing of `preprocessor.json` as ONNX operators (imputation, clipping, scaling, one-hot), the dense
 * layers of `model.json` + `weights.bin` (core/dense-model.ts), an ensemble's combination (average, vote, or a
 * stack's meta-model: core/ensemble.ts), and the answer in the API's terms. Pure: bytes in, bytes out.
 *
 * The file's contract (written into it too, as `doc_string` and `metadata_props`):
 * - one input per feature, named as the feature, `[N, 1]`: a numeric feature is `double` (the numbers the API
 *   takes; NaN is an unknown value, imputed as the API's `null` is), a categorical one `string` (`""` is an
 *   unknown value, the API's `null`, as an empty CSV cell is). A category the model never saw is all zeros
 *   where the feature's rule is `zeros`, and fails the run where it is `error` (the API's 400), naming the
 *   feature's node (`nimbus/<feature>/one_hot…`).
 * - a classifier answers `probabilities` (`float [N, classes]`, in the order of `nimbus.classes`) and `label`
 *   (`string [N]`); a regressor `value` (`double [N, 1]`, in the target's units). A feature that already has
 *   one of those names leaves the output its name with `output_` before it, as often as it takes
 *   (`nimbus.outputs` lists them).
 * - the layers run in float32, as ONNX models do; the API sums in float64. Within the range of the data a model
 *   was trained on the two agree to well within 1e-5 (the tests hold them to it); an input so far outside it
 *   that a float32 overflows answers NaN where the API refuses the instance (a 400).
 * Everything else in the graph is named `nimbus/…`.
 */
import onnxProto from 'onnx-proto';
import type { DenseStep } from './dense-forward.ts';
import type { Combiner } from './ensemble.ts';
import { ModelExportError } from './errors.ts';
import { formatBytes } from './limits.ts';
import { ONNX_LIMITS } from './onnx.ts';
import type { AnyPreprocessor, CategoricalFeature, NumericFeature, Preprocessor } from './preprocessor.ts';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The format of the files this module writes: a cached export of another format is written again. */
export const ONNX_EXPORT_FORMAT = '1';

/** Operator sets of an export: ONNX 17 (IR version 8), and ai.onnx.ml 1 for the one-hot encoder. */
const OPSET = 17;
const ML_OPSET = 1;
const IR_VERSION = 8;

export interface ExportSource {
  readonly model: string;
  readonly version: number;
  readonly preprocessor: AnyPreprocessor;
  /** Each member's Dense layers: one for a single model (undefined: the member is not a dense model). */
  readonly members: readonly (readonly DenseStep[] | undefined)[];
  /** How an ensemble's members combine; absent for one model. */
  readonly ensemble?: Combiner;
}

/**
 * Refuses, with a ModelExportError saying why, a version no export is made of: an image model, or one of more
 * than ONNX_LIMITS.maxBytes of weights. Known from the preprocessor and the weights' size, before any weight is
 * read (the registry checks so first); exportOnnx checks again.
 */
export function checkExportable(
  what: string,
  preprocessor: AnyPreprocessor,
  weightBytes: number,
): asserts preprocessor is Preprocessor {
  if (preprocessor.kind !== 'tabular') {
    throw new ModelExportError(
      `${what} is an image model (a CNN): ONNX export covers tabular models (their preprocessing and dense layers)`,
    );
  }
  if (weightBytes > ONNX_LIMITS.maxBytes) {
    throw new ModelExportError(
      `${what} holds ${formatBytes(weightBytes)} of weights, above the ${formatBytes(ONNX_LIMITS.maxBytes)} an export may`,
    );
  }
}

/** The ONNX file of a tabular version (ModelProto bytes); a ModelExportError says why one cannot be made. */
export function exportOnnx(source: ExportSource): Uint8Array {
  const { preprocessor: pre } = source;
  const what = `version ${source.version} of ${source.model}`;
  const weightBytes = source.members
    .flat()
    .reduce((sum, s) => sum + (s ? s.kernel.byteLength + (s.bias?.byteLength ?? 0) : 0), 0);
  checkExportable(what, pre, weightBytes);
  const members = source.members.map((steps) => {
    if (!steps) {
      throw new ModelExportError(
        `${what} is not a dense model of float32 weights: ONNX export covers Sequential Dense models`,
      );
    }
    return steps;
  });
  if (members.length === 0) throw new ModelExportError(`${what} has no model files`);
  const outputWidth = members[0]?.at(-1)?.units ?? 0;
  for (const steps of members) {
    if (steps[0]?.inputs !== pre.width || steps.at(-1)?.units !== outputWidth) {
      throw new ModelExportError(
        `${what}'s layers do not fit its preprocessor: ${pre.width} features in, ${outputWidth} outputs`,
      );
    }
  }

  const graph = new GraphBuilder(pre.features.map((f) => f.name));
  const inputs = pre.features.map((feature) =>
    valueInfo(feature.name, feature.type === 'numeric' ? DataType.DOUBLE : DataType.STRING, ['N', 1]),
  );
  const columns = pre.features.map((feature) =>
    feature.type === 'numeric' ? numericColumn(graph, feature) : categoricalColumn(graph, feature),
  );
  const features = columns.length === 1 ? (columns[0] as string) : graph.op('Concat', columns, { axis: 1 });
  const outputs = members.map((steps, m) => denseLayers(graph, features, steps, members.length > 1 ? m : -1));
  const combined = source.ensemble ? combine(graph, source.ensemble, outputs, outputWidth) : outputs[0];

  const names = new Set(pre.features.map((f) => f.name));
  const outputName = (name: string) => {
    let output = name;
    while (names.has(output)) output = `output_${output}`;
    return output;
  };
  const graphOutputs: onnxProto.onnx.IValueInfoProto[] = [];
  if (pre.task === 'regression') {
    const target = pre.target ?? { mean: 0, std: 1 };
    const value = outputName('value');
    const asDouble = graph.op('Cast', [combined as string], { to: DataType.DOUBLE });
    const scaled = graph.op('Mul', [asDouble, graph.double('target_std', [target.std])]);
    graph.op('Add', [scaled, graph.double('target_mean', [target.mean])], {}, value);
    graphOutputs.push(valueInfo(value, DataType.DOUBLE, ['N', 1]));
  } else {
    const probabilities = outputName('probabilities');
    const label = outputName('label');
    graph.op('Identity', [combined as string], {}, probabilities);
    const index = graph.op('ArgMax', [probabilities], { axis: 1, keepdims: 0 });
    graph.op('Gather', [graph.strings('classes', pre.classes), index], { axis: 0 }, label);
    graphOutputs.push(
      valueInfo(probabilities, DataType.FLOAT, ['N', pre.classes.length]),
      valueInfo(label, DataType.STRING, ['N']),
    );
  }

  const doc = contractText(
    pre.task === 'regression',
    graphOutputs.map((o) => o.name as string),
  );
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'nimbus-ml',
    producerVersion: `onnx-export/${ONNX_EXPORT_FORMAT}`,
    domain: 'ml.nimbus',
    modelVersion: source.version,
    docString: doc,
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: 'ai.onnx.ml', version: ML_OPSET },
    ],
    metadataProps: Object.entries({
      'nimbus.model': source.model,
      'nimbus.version': String(source.version),
      'nimbus.task': pre.task ?? 'classification',
      'nimbus.label': pre.label,
      'nimbus.classes': JSON.stringify(pre.classes),
      'nimbus.features': JSON.stringify(pre.features.map((f) => ({ name: f.name, type: f.type }))),
      'nimbus.outputs': JSON.stringify(graphOutputs.map((o) => o.name)),
      'nimbus.ensemble': source.ensemble?.method ?? 'none',
      'nimbus.export-format': ONNX_EXPORT_FORMAT,
    }).map(([key, value]) => ({ key, value })),
    graph: {
      name: `${source.model}-v${source.version}`,
      docString: doc,
      node: graph.nodes,
      initializer: graph.initializers,
      input: inputs,
      output: graphOutputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function contractText(regression: boolean, outputs: readonly string[]): string {
  const answer = regression
    ? `${outputs[0]}: double [N, 1], in the target's units`
    : `${outputs[0]}: float [N, classes] (the order of nimbus.classes); ${outputs[1]}: string [N]`;
  return [
    'Exported by Nimbus ML: the preprocessing and the model the predict API runs.',
    'Inputs, one per feature, [N, 1]: numeric features double (NaN: unknown, imputed), categorical features string ("": unknown, imputed as null is by the API).',
    'A category the model never saw is all zeros where its rule is "zeros", and fails the run where it is "error".',
    `Outputs: ${answer}.`,
  ].join(' ');
}

/** A numeric column as the model reads it: unknown (NaN) imputed, clipped, scaled, as float [N, 1]. */
function numericColumn(graph: GraphBuilder, feature: NumericFeature): string {
  const x = feature.name;
  let value = graph.op('Where', [graph.op('IsNaN', [x]), graph.double('impute', [feature.impute]), x]);
  if (feature.clip) {
    value = graph.op('Clip', [
      value,
      graph.double('clip_low', [feature.clip[0]], []),
      graph.double('clip_high', [feature.clip[1]], []),
    ]);
  }
  const centred = graph.op('Sub', [value, graph.double('center', [feature.center])]);
  const scaled = graph.op('Div', [centred, graph.double('scale', [feature.scale])]);
  return graph.op('Cast', [scaled], { to: DataType.FLOAT });
}

/**
 * A categorical column one-hot, as float [N, categories]: the encoder's columns are the categories and `""`
 * (unknown); the categories' columns are kept, and the unknown one becomes the imputed category's (or
 * nothing, when the feature imputes none). Constants in proportion to the categories, not their square.
 */
function categoricalColumn(graph: GraphBuilder, feature: CategoricalFeature): string {
  const count = feature.categories.length;
  const encoded = graph.op(
    'OneHotEncoder',
    [feature.name],
    { cats_strings: [...feature.categories, ''], zeros: feature.unknown === 'zeros' ? 1 : 0 },
    undefined,
    'ai.onnx.ml',
    // The node a runtime names when a category is unknown: the feature's.
    `${feature.name}/one_hot`,
  );
  const rows = graph.op('Reshape', [encoded, graph.int64('one_hot_shape', [-1, count + 1])]);
  const columns = (from: number, to: number) =>
    graph.op('Slice', [rows, graph.int64('from', [from]), graph.int64('to', [to]), graph.int64('axis', [1])]);
  const known = columns(0, count);
  const impute = feature.impute === undefined ? -1 : feature.categories.indexOf(feature.impute);
  if (impute < 0) return known;
  const imputed = new Float32Array(count);
  imputed[impute] = 1;
  const unknown = graph.op('Mul', [columns(count, count + 1), graph.float('imputed', imputed)]);
  return graph.op('Add', [known, unknown]);
}

const ACTIVATIONS: Readonly<Record<DenseStep['activation'], string | undefined>> = {
  linear: undefined,
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  softmax: 'Softmax',
};

/** The Dense layers over the features: each a MatMul, an Add of its bias, its activation. */
function denseLayers(
  graph: GraphBuilder,
  input: string,
  steps: readonly DenseStep[],
  member: number,
): string {
  const at = member < 0 ? '' : `member${member}_`;
  let a = input;
  steps.forEach((step, layer) => {
    a = graph.op('MatMul', [
      a,
      graph.float(`${at}dense${layer}_kernel`, step.kernel, [step.inputs, step.units]),
    ]);
    if (step.bias) a = graph.op('Add', [a, graph.float(`${at}dense${layer}_bias`, step.bias, [step.units])]);
    const activation = ACTIVATIONS[step.activation];
    if (activation) a = graph.op(activation, [a], activation === 'Softmax' ? { axis: -1 } : {});
  });
  return a;
}

/** An ensemble's members' outputs combined as core/ensemble.ts combinePredictions does. */
function combine(graph: GraphBuilder, ensemble: Combiner, outputs: readonly string[], width: number): string {
  const share = (sum: string) => graph.op('Div', [sum, graph.float('members', [outputs.length], [])]);
  const sum = (values: readonly string[]) =>
    values.length === 1 ? (values[0] as string) : graph.op('Sum', values);
  if (ensemble.method === 'average') return share(sum(outputs));
  if (ensemble.method === 'vote') {
    const depth = graph.int64('classes', [width], []);
    const onOff = graph.float('one_hot_values', [0, 1], [2]);
    return share(
      sum(
        outputs.map((out) =>
          graph.op('OneHot', [graph.op('ArgMax', [out], { axis: 1, keepdims: 0 }), depth, onOff], {
            axis: -1,
          }),
        ),
      ),
    );
  }
  const stack = ensemble.stack;
  if (!stack) throw new ModelExportError('a stack ensemble needs its meta-model (ensemble.json stack)');
  const features = stack.coefficients[0]?.length ?? 0;
  if (stack.width !== width || features !== outputs.length * width) {
    throw new ModelExportError(
      `the stack's meta-model takes ${features} inputs; its ${outputs.length} members give ${outputs.length * width}`,
    );
  }
  // coefficients: one row per output over the members' outputs side by side; MatMul takes it transposed.
  const k = stack.coefficients.length;
  const transposed = new Float32Array(features * k);
  stack.coefficients.forEach((row, o) => {
    row.forEach((c, f) => {
      transposed[f * k + o] = c;
    });
  });
  const side = outputs.length === 1 ? (outputs[0] as string) : graph.op('Concat', outputs, { axis: 1 });
  const z = graph.op('Add', [
    graph.op('MatMul', [side, graph.float('stack_coefficients', transposed, [features, k])]),
    graph.float('stack_intercepts', Float32Array.from(stack.intercepts), [k]),
  ]);
  return stack.kind === 'ridge' ? z : graph.op('Softmax', [z], { axis: -1 });
}

function valueInfo(
  name: string,
  elemType: number,
  dims: readonly (number | string)[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

type AttributeValue = number | readonly string[];

/** Nodes and constants of one graph, under names (`nimbus/…`) that no input of the graph has. */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly taken: Set<string>;
  private count = 0;

  constructor(inputs: readonly string[]) {
    this.taken = new Set(inputs);
  }

  private fresh(hint: string): string {
    let name: string;
    do name = `nimbus/${hint}_${this.count++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** One node; its output, named `output` or a fresh name. */
  op(
    type: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    output?: string,
    domain = '',
    node = `${type.toLowerCase()}_node`,
  ): string {
    const out = output ?? this.fresh(type.toLowerCase());
    this.nodes.push({
      opType: type,
      domain,
      name: this.fresh(node),
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attributes).map(([name, value]) =>
        typeof value === 'number'
          ? { name, type: AttributeType.INT, i: value }
          : { name, type: AttributeType.STRINGS, strings: value.map((s) => new TextEncoder().encode(s)) },
      ),
    });
    return out;
  }

  private constant(hint: string, dataType: number, dims: readonly number[], rawData: Uint8Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dataType, dims: [...dims], rawData });
    return name;
  }

  /** Float32 values as ONNX keeps raw data: little-endian, as the platforms Node runs on hold them. */
  float(hint: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.constant(
      hint,
      DataType.FLOAT,
      dims,
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  }

  double(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(hint, DataType.DOUBLE, dims, new Uint8Array(Float64Array.from(values).buffer));
  }

  int64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.constant(hint, DataType.INT64, dims, new Uint8Array(data.buffer));
  }

  strings(hint: string, values: readonly string[]): string {
    const name = this.fresh(hint);
    this.initializers.push({
      name,
      dataType: DataType.STRING,
      dims: [values.length],
      stringData: values.map((s) => new TextEncoder().encode(s)),
    });
    return name;
  }
}
