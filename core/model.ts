/**
 * tfjs models: backend selection, the MLP classifier, a seeded training loop, and (de)serialization to the
 * tfjs LayersModel file format (`model.json` + one weights file) without touching any filesystem or store.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigurationError, NimbusError } from './errors.ts';
import type { CnnHyperparameters, MlpHyperparameters, TrainingHyperparameters } from './hyperparameters.ts';
import type { EpochLog, ProcessedSplit } from './pipeline.ts';
import { imageInput } from './preprocessor.ts';
import { createRandom, shuffled } from './random.ts';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';

// Convolutional networks train on wasm only with the kernels it lacks (see wasm-kernels.ts).
registerWasmTrainingKernels();

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
/** Native bindings, best first. Optional: absent on most machines, present in the GPU container. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/**
 * Picks the best available backend (`tensorflow` → `wasm` → `cpu`), or exactly `preferred` when given.
 * Returns the backend in use.
 */
export async function selectBackend(preferred?: string): Promise<BackendName> {
  if (preferred !== undefined && preferred !== '' && !BACKENDS.includes(preferred as BackendName)) {
    throw new ConfigurationError(`unknown tfjs backend "${preferred}"; use one of ${BACKENDS.join(', ')}`);
  }
  const order = preferred ? [preferred as BackendName] : BACKENDS;
  for (const name of order) {
    if (name === 'tensorflow' && !(await loadNativeBinding())) continue;
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // fall through to the next backend
    }
  }
  throw new ConfigurationError(`tfjs backend ${order.join(' / ')} is not available`);
}

async function loadNativeBinding(): Promise<boolean> {
  for (const name of NATIVE_PACKAGES) {
    try {
      await import(name);
      return true;
    } catch {
      // not installed here
    }
  }
  return false;
}

/** Versions of the ML libraries, recorded in each model card. */
export function libraryVersions(): Record<string, string> {
  return { '@tensorflow/tfjs': tf.version.tfjs, backend: tf.getBackend() };
}

/**
 * An MLP over feature rows: a softmax over `outputs` classes, or (regression) one linear output trained on
 * mean squared error.
 */
export function buildMlp(
  inputWidth: number,
  outputs: number,
  hp: MlpHyperparameters,
  task: 'classification' | 'regression' = 'classification',
): tf.LayersModel {
  const model = tf.sequential();
  hp.hiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: hp.seed + i }),
        ...decay(hp),
        ...(i === 0 ? { inputShape: [inputWidth] } : {}),
      }),
    );
    if (hp.dropout > 0) model.add(tf.layers.dropout({ rate: hp.dropout, seed: hp.seed + 100 + i }));
  });
  const regression = task === 'regression';
  model.add(
    tf.layers.dense({
      units: regression ? 1 : outputs,
      activation: regression ? 'linear' : 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: hp.seed + 1000 }),
      ...decay(hp),
      ...(hp.hiddenUnits.length === 0 ? { inputShape: [inputWidth] } : {}),
    }),
  );
  model.compile({
    optimizer: tf.train.adam(hp.learningRate),
    loss: regression ? 'meanSquaredError' : 'sparseCategoricalCrossentropy',
    metrics: regression ? [] : ['accuracy'],
  });
  return model;
}

/** Whether a model predicts one number (regression) rather than class probabilities. */
export function isRegressor(model: tf.LayersModel): boolean {
  return model.loss === 'meanSquaredError';
}

/** L2 weight decay on a layer's kernel, when `hp.weightDecay` asks for it. */
function decay(hp: TrainingHyperparameters): { kernelRegularizer?: ReturnType<typeof tf.regularizers.l2> } {
  return hp.weightDecay ? { kernelRegularizer: tf.regularizers.l2({ l2: hp.weightDecay }) } : {};
}

/** A model specification that cannot be built (the message says which value and why). */
export class ModelSpecError extends NimbusError {}

/** The small AlexNet-style CNN of `CnnHyperparameters` for images of `inputShape` ([height, width, channels]). */
export function buildCnn(
  inputShape: readonly [number, number, number],
  classCount: number,
  hp: CnnHyperparameters,
): tf.LayersModel {
  if (hp.kernelSize < 1 || hp.blockFilters.length === 0) {
    throw new ModelSpecError('a CNN needs at least one block and a kernel size of at least 1');
  }
  let [height, width] = inputShape;
  const model = tf.sequential();
  let seed = hp.seed;
  hp.blockFilters.forEach((filters, block) => {
    for (let c = 0; c < hp.convsPerBlock; c++) {
      model.add(
        tf.layers.conv2d({
          filters,
          kernelSize: hp.kernelSize,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
          ...decay(hp),
          ...(block === 0 && c === 0 ? { inputShape: [...inputShape] } : {}),
        }),
      );
    }
    if (height < 2 || width < 2) {
      throw new ModelSpecError(
        `block ${block + 1} gets ${height}×${width} maps: too small to pool; use fewer blocks`,
      );
    }
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
  });
  model.add(tf.layers.flatten());
  for (const units of hp.denseUnits) {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
        ...decay(hp),
      }),
    );
    if (hp.dropout > 0) model.add(tf.layers.dropout({ rate: hp.dropout, seed: seed++ }));
  }
  model.add(
    tf.layers.dense({
      units: classCount,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      ...decay(hp),
    }),
  );
  model.compile({
    optimizer: tf.train.adam(hp.learningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

/** Samples as one flat array (`labels.length` × the model's input size) and their class indices. */
export interface LabelledData {
  readonly x: Float32Array;
  readonly labels: readonly number[];
}

/** Flat rows of equal width → one flat array. */
export function flatten(rows: readonly (readonly number[])[]): Float32Array {
  const width = rows[0]?.length ?? 0;
  const flat = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    flat.set(row, i * width);
  });
  return flat;
}

/**
 * A processed split file → model inputs: feature rows as they are, image bytes through `imageInput`, shards
 * (read with `readShard`) concatenated.
 */
export async function splitData(
  split: ProcessedSplit,
  readShard: (key: string) => Promise<Uint8Array>,
): Promise<LabelledData> {
  if (!('shards' in split)) return splitToData(split);
  const x = new Float32Array(split.rows * split.width);
  const labels = new Array<number>(split.rows);
  let offset = 0;
  for (const shard of split.shards) {
    const bytes = await readShard(shard.key);
    const floats = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    x.set(floats.subarray(0, shard.rows * split.width), offset * split.width);
    for (let i = 0; i < shard.rows; i++) labels[offset + i] = floats[shard.rows * split.width + i] as number;
    offset += shard.rows;
  }
  return { x, labels };
}

/** An in-file split → model inputs: feature rows as they are, image bytes through `imageInput`. */
export function splitToData(split: Exclude<ProcessedSplit, { format: 'shards' }>): LabelledData {
  if ('features' in split) return { x: flatten(split.features), labels: split.labels };
  const pixels = new Uint8Array(Buffer.from(split.pixels, 'base64'));
  const x = new Float32Array(pixels.length);
  imageInput(pixels, x);
  return { x, labels: split.labels };
}

export interface TrainingOptions {
  /** Epochs already trained (a resumed job): training goes on from the next, in the same shuffle order. */
  readonly history?: readonly EpochLog[];
  /** Called after each epoch, and awaited: a checkpoint is written here. */
  readonly onEpoch?: (log: EpochLog, history: readonly EpochLog[]) => void | Promise<void>;
  /**
   * The time budget's end (milliseconds, as `now` reads them). Once it has passed, training stops after the
   * batch in progress — an epoch cut short is not counted, and at least one epoch is always trained — and
   * the model gets back the weights of its best epoch: the lowest validation loss of the epochs this job
   * trained (the epoch it resumed from included), or the last complete epoch without validation data.
   */
  readonly deadline?: number;
  /** The clock `deadline` is read on. @default Date.now */
  readonly now?: () => number;
}

export interface TrainingResult {
  readonly history: EpochLog[];
  /** The epoch early stopping ended on, when it did. */
  readonly stoppedEarly?: number;
  /** Set when the deadline ended training before its epochs: the epoch whose weights the model now has. */
  readonly stoppedOnBudget?: { readonly bestEpoch: number };
}

/**
 * The weights of the best epoch so far, kept (as copies) while a deadline may stop training: the lowest
 * validation loss when there is validation data (an epoch whose loss is not a number never is), else the
 * latest epoch.
 */
class BestWeights {
  private kept: { epoch: number; loss: number; weights: tf.Tensor[] } | undefined;

  constructor(private readonly byValidationLoss: boolean) {}

  offer(model: tf.LayersModel, log: EpochLog): void {
    const loss = this.byValidationLoss ? (log.validationLoss ?? Number.NaN) : 0;
    if (!Number.isFinite(loss)) return;
    if (this.byValidationLoss && this.kept && !(loss < this.kept.loss)) return;
    this.dispose();
    this.kept = { epoch: log.epoch, loss, weights: model.getWeights().map((w) => w.clone()) };
  }

  /** Puts the kept weights back into the model; returns their epoch (undefined when none was kept). */
  restore(model: tf.LayersModel): number | undefined {
    if (!this.kept) return undefined;
    model.setWeights(this.kept.weights);
    return this.kept.epoch;
  }

  dispose(): void {
    if (this.kept) tf.dispose(this.kept.weights);
    this.kept = undefined;
  }
}

/**
 * Trains for `hp.epochs`, shuffling with the seeded PRNG each epoch so runs are reproducible. The data stays
 * on the backend; each epoch gathers it in a new order. Also: the learning-rate schedule, balanced class
 * weights, early stopping when validation loss has not improved for `hp.patience` epochs, and the time
 * budget (`options.deadline`), which ends training on the best epoch's weights.
 */
export async function trainClassifier(
  model: tf.LayersModel,
  train: LabelledData,
  validation: LabelledData | undefined,
  hp: TrainingHyperparameters,
  options: TrainingOptions = {},
): Promise<TrainingResult> {
  const classifier = !isRegressor(model);
  if (classifier && hp.oversample === 'smote') train = smote(train, sampleSize(model), hp.seed);
  const random = createRandom(hp.seed);
  const order = train.labels.map((_, i) => i);
  const history: EpochLog[] = [...(options.history ?? [])];
  // A resumed job replays the shuffles it already did, so epoch k sees the order it would have seen.
  for (let epoch = 1; epoch <= history.length; epoch++) shuffled(order, random);
  const classWeight =
    classifier && hp.classWeight === 'balanced' ? balancedClassWeights(train.labels) : undefined;
  const [x, y] = toTensors(model, train);
  const validationTensors =
    validation && validation.labels.length > 0 ? toTensors(model, validation) : undefined;
  const { deadline, now = Date.now } = options;
  const best = deadline === undefined ? undefined : new BestWeights(validationTensors !== undefined);
  // A resumed job has the weights of the epoch it resumed from: the first candidate.
  const resumedFrom = history[history.length - 1];
  if (best && resumedFrom) best.offer(model, resumedFrom);
  // Past the deadline with an epoch to keep: stop (between epochs, or after the batch in progress).
  const timeUp = () => deadline !== undefined && history.length > 0 && now() >= deadline;
  const stopOnBudget = (): TrainingResult => ({
    history,
    stoppedOnBudget: { bestEpoch: best?.restore(model) ?? history.length },
  });
  try {
    for (let epoch = history.length + 1; epoch <= hp.epochs; epoch++) {
      if (shouldStop(history, hp.patience)) return { history, stoppedEarly: epoch - 1 };
      if (timeUp()) return stopOnBudget();
      setLearningRate(model, learningRateAt(hp, epoch));
      const indices = tf.tensor1d(shuffled(order, random), 'int32');
      const gathered = tf.gather(x, indices);
      const xs = augment(gathered, hp, epoch);
      if (xs !== gathered) gathered.dispose();
      const ys = tf.gather(y, indices);
      indices.dispose();
      let cutShort = false;
      const lastBatch = Math.ceil(order.length / hp.batchSize) - 1;
      const result = await model.fit(xs, ys, {
        epochs: 1,
        batchSize: hp.batchSize,
        shuffle: false,
        verbose: 0,
        ...(classWeight ? { classWeight } : {}),
        ...(validationTensors ? { validationData: validationTensors } : {}),
        ...(deadline === undefined
          ? {}
          : {
              callbacks: {
                // After the last batch the epoch is complete (validated, too): it ends as any other.
                onBatchEnd: async (batch) => {
                  if (batch < lastBatch && timeUp()) {
                    cutShort = true;
                    model.stopTraining = true;
                  }
                },
              },
            }),
      });
      xs.dispose();
      ys.dispose();
      // An epoch the deadline cut short did not finish: it is not an epoch of the history, nor its weights.
      if (cutShort) return stopOnBudget();
      const h = result.history;
      const log: EpochLog = {
        epoch,
        loss: Number(h.loss?.[0]),
        ...(classifier ? { accuracy: Number(h.acc?.[0] ?? h.accuracy?.[0]) } : {}),
        ...(validationTensors
          ? {
              validationLoss: Number(h.val_loss?.[0]),
              ...(classifier ? { validationAccuracy: Number(h.val_acc?.[0] ?? h.val_accuracy?.[0]) } : {}),
            }
          : {}),
      };
      history.push(log);
      best?.offer(model, log);
      await options.onEpoch?.(log, history);
    }
  } finally {
    tf.dispose([x, y, ...(validationTensors ?? [])]);
    best?.dispose();
  }
  return { history };
}

/**
 * Image augmentation for one epoch: each image flipped left–right with probability ½ and/or shifted by up to
 * 10% of its size each way (one projective transform per image, edges filled with zeros). Seeded by epoch,
 * so a resumed job augments as the uninterrupted one would have.
 */
export function augment(xs: tf.Tensor, hp: TrainingHyperparameters, epoch: number): tf.Tensor {
  const mode = hp.augment ?? 'none';
  if (mode === 'none' || xs.rank !== 4) return xs;
  const [n, height, width] = xs.shape as [number, number, number, number];
  const random = createRandom(hp.seed * 1000003 + epoch);
  const flip = mode.includes('flip');
  const shift = mode.includes('shift');
  const transforms = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    const flipped = flip && random() < 0.5;
    const dx = shift ? Math.round((random() * 2 - 1) * 0.1 * width) : 0;
    const dy = shift ? Math.round((random() * 2 - 1) * 0.1 * height) : 0;
    // Output (x, y) reads input (a0·x + a2, b1·y + b2).
    transforms.set([flipped ? -1 : 1, 0, (flipped ? width - 1 : 0) + dx, 0, 1, dy, 0, 0], i * 8);
  }
  return tf.tidy(() =>
    tf.image.transform(xs as tf.Tensor4D, tf.tensor2d(transforms, [n, 8]), 'nearest', 'constant', 0),
  );
}

/**
 * SMOTE: every class smaller than the largest gets synthetic samples up to its size, each on the segment
 * between a sample of the class and one of its 5 nearest neighbours in that class (a lone sample is copied).
 * Seeded, so the same data and seed give the same rows.
 */
export function smote(data: LabelledData, width: number, seed: number, neighbours = 5): LabelledData {
  const byClass = new Map<number, number[]>();
  data.labels.forEach((label, i) => {
    const members = byClass.get(label) ?? [];
    members.push(i);
    byClass.set(label, members);
  });
  const target = Math.max(...[...byClass.values()].map((members) => members.length));
  const random = createRandom(seed + 7);
  const extra: number[] = [];
  const extraLabels: number[] = [];
  const row = (i: number) => data.x.subarray(i * width, (i + 1) * width);
  for (const [label, members] of [...byClass].sort((a, b) => a[0] - b[0])) {
    const missing = target - members.length;
    if (missing <= 0) continue;
    const nearest = members.map((i) =>
      members
        .filter((j) => j !== i)
        .map((j) => ({ j, d: row(i).reduce((sum, v, k) => sum + (v - (row(j)[k] as number)) ** 2, 0) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, neighbours)
        .map((e) => e.j),
    );
    for (let s = 0; s < missing; s++) {
      const pick = Math.floor(random() * members.length);
      const base = row(members[pick] as number);
      const candidates = nearest[pick] as number[];
      const other =
        candidates.length > 0 ? row(candidates[Math.floor(random() * candidates.length)] as number) : base;
      const t = random();
      for (let k = 0; k < width; k++)
        extra.push((base[k] as number) + t * ((other[k] as number) - (base[k] as number)));
      extraLabels.push(label);
    }
  }
  if (extraLabels.length === 0) return data;
  const x = new Float32Array(data.x.length + extra.length);
  x.set(data.x);
  x.set(extra, data.x.length);
  return { x, labels: [...data.labels, ...extraLabels] };
}

/** Early stopping: no better validation loss in the last `patience` epochs. */
export function shouldStop(history: readonly EpochLog[], patience = 0): boolean {
  if (patience <= 0 || history.length <= patience) return false;
  const losses = history.map((log) => log.validationLoss ?? Number.POSITIVE_INFINITY);
  const best = Math.min(...losses);
  return losses.lastIndexOf(best) < history.length - patience;
}

/** The learning rate of an epoch (1-based): constant, or cosine decay from `learningRate` towards zero. */
export function learningRateAt(hp: TrainingHyperparameters, epoch: number): number {
  if (hp.schedule !== 'cosine' || hp.epochs <= 1) return hp.learningRate;
  return hp.learningRate * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / hp.epochs));
}

function setLearningRate(model: tf.LayersModel, rate: number): void {
  // tfjs optimizers read `learningRate` on every step; it has no public setter.
  (model.optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/** Weights inversely proportional to class frequency (n / (k × count)), for imbalanced classes. */
export function balancedClassWeights(labels: readonly number[]): Record<number, number> {
  const counts = new Map<number, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return Object.fromEntries(
    [...counts].map(([label, count]) => [label, labels.length / (counts.size * count)]),
  );
}

/** A model's training state: its weights and its optimizer's (Adam's moments and step count). */
export interface TrainingState {
  readonly weights: ModelFiles;
  readonly optimizer: { readonly specs: tf.io.WeightsManifestEntry[]; readonly data: Uint8Array };
}

export async function captureTrainingState(model: tf.LayersModel): Promise<TrainingState> {
  const weights = await serializeModel(model, 'weights.bin');
  const encoded = await tf.io.encodeWeights(await model.optimizer.getWeights());
  return {
    weights,
    optimizer: { specs: encoded.specs, data: new Uint8Array(encoded.data as ArrayBuffer) },
  };
}

/** Puts a captured state into a model built (and compiled) the same way. */
export async function restoreTrainingState(model: tf.LayersModel, state: TrainingState): Promise<void> {
  const saved = await deserializeModel(state.weights);
  model.setWeights(saved.getWeights());
  saved.dispose();
  const data = state.optimizer.data;
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const tensors = tf.io.decodeWeights(buffer, state.optimizer.specs);
  await model.optimizer.setWeights(
    state.optimizer.specs.map((spec) => ({ name: spec.name, tensor: tensors[spec.name] as tf.Tensor })),
  );
}

function sampleSize(model: tf.LayersModel): number {
  return sampleShape(model).reduce((a, b) => a * b, 1);
}

/** The shape of one sample the model takes (without the batch dimension). */
function sampleShape(model: tf.LayersModel): number[] {
  return (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? 0);
}

/** Flat samples → an input tensor of the model's shape; labels → a float tensor. */
function toTensors(model: tf.LayersModel, data: LabelledData): [tf.Tensor, tf.Tensor] {
  return [inputTensor(model, data.x), tf.tensor1d(data.labels as number[], 'float32')];
}

function inputTensor(model: tf.LayersModel, x: Float32Array): tf.Tensor {
  const shape = sampleShape(model);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 0 || x.length % size !== 0) {
    throw new ModelSpecError(
      `${x.length} input values are not whole samples of ${size} (${shape.join('×')})`,
    );
  }
  return tf.tensor(x, [x.length / size, ...shape]);
}

/** Class probabilities for each sample of `x` (flat samples, as in LabelledData). */
/** Activations the plain-JS forward pass computes, as tfjs defines them. */
const DENSE_ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'] as const;
type DenseActivation = (typeof DENSE_ACTIVATIONS)[number];

/**
 * A model made only of Dense (and Dropout, inert at inference) layers as a plain-JS forward pass over its
 * weights: the same arithmetic as tfjs (float32 weights, sums in float64), without a tensor per call — a
 * prediction of one row costs microseconds instead of tfjs's fixed per-call overhead. Undefined for any other
 * model (CNNs), which stay on tfjs.
 */
export function denseForward(model: tf.LayersModel): ((x: Float32Array) => number[][]) | undefined {
  const steps: {
    kernel: Float32Array;
    bias: Float32Array | undefined;
    inputs: number;
    units: number;
    activation: DenseActivation;
  }[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Dropout') continue;
    if (kind !== 'Dense') return undefined;
    const activation = String((layer.getConfig() as { activation?: string }).activation ?? 'linear');
    if (!(DENSE_ACTIVATIONS as readonly string[]).includes(activation)) return undefined;
    const [kernel, bias] = layer.getWeights();
    if (kernel?.shape.length !== 2) return undefined;
    steps.push({
      kernel: Float32Array.from(kernel.dataSync()),
      bias: bias ? Float32Array.from(bias.dataSync()) : undefined,
      inputs: kernel.shape[0] as number,
      units: kernel.shape[1] as number,
      activation: activation as DenseActivation,
    });
  }
  const first = steps[0];
  if (!first) return undefined;
  return (x) => {
    const rows = x.length / first.inputs;
    const out: number[][] = [];
    for (let r = 0; r < rows; r++) {
      let a: Float64Array = Float64Array.from(x.subarray(r * first.inputs, (r + 1) * first.inputs));
      for (const step of steps) {
        const z = new Float64Array(step.units);
        if (step.bias) for (let j = 0; j < step.units; j++) z[j] = step.bias[j] as number;
        for (let i = 0; i < step.inputs; i++) {
          const ai = a[i] as number;
          if (ai === 0) continue;
          const offset = i * step.units;
          for (let j = 0; j < step.units; j++)
            z[j] = (z[j] as number) + ai * (step.kernel[offset + j] as number);
        }
        activate(z, step.activation);
        a = z;
      }
      out.push(Array.from(a, (v) => Math.fround(v)));
    }
    return out;
  };
}

function activate(z: Float64Array, activation: DenseActivation): void {
  if (activation === 'relu') for (let j = 0; j < z.length; j++) z[j] = Math.max(0, z[j] as number);
  else if (activation === 'sigmoid')
    for (let j = 0; j < z.length; j++) z[j] = 1 / (1 + Math.exp(-(z[j] as number)));
  else if (activation === 'tanh') for (let j = 0; j < z.length; j++) z[j] = Math.tanh(z[j] as number);
  else if (activation === 'softmax') {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of z) max = Math.max(max, v);
    let sum = 0;
    for (let j = 0; j < z.length; j++) {
      z[j] = Math.exp((z[j] as number) - max);
      sum += z[j] as number;
    }
    for (let j = 0; j < z.length; j++) z[j] = (z[j] as number) / sum;
  }
}

export function predictProbabilities(model: tf.LayersModel, x: Float32Array): number[][] {
  if (x.length === 0) return [];
  return tf.tidy(() => (model.predict(inputTensor(model, x)) as tf.Tensor2D).arraySync());
}

/** The two files of the tfjs LayersModel format. */
export interface ModelFiles {
  /** `model.json`: topology plus a weights manifest pointing at `weightsFile`. */
  readonly modelJson: Record<string, unknown>;
  readonly weights: Uint8Array;
}

export async function serializeModel(model: tf.LayersModel, weightsFile: string): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const weights =
        data === undefined ? new Uint8Array() : new Uint8Array(tf.io.concatenateArrayBuffers(data));
      files = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
        },
        weights,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!files) throw new Error('tfjs did not hand over the model artifacts');
  return files;
}

export async function deserializeModel(files: ModelFiles): Promise<tf.LayersModel> {
  const manifest = files.modelJson.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[];
  const weightSpecs = manifest.flatMap((group) => group.weights);
  const buffer = files.weights.buffer.slice(
    files.weights.byteOffset,
    files.weights.byteOffset + files.weights.byteLength,
  ) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs,
      weightData: buffer,
    }),
  );
}
