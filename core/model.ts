/**
 * tfjs models: backend selection, the MLP classifier, a seeded training loop, and (de)serialization to the
 * tfjs LayersModel file format (`model.json` + one weights file) without touching any filesystem or store.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigurationError } from './errors.ts';
import type { MlpHyperparameters } from './hyperparameters.ts';
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

export function buildMlp(inputWidth: number, classCount: number, hp: MlpHyperparameters): tf.LayersModel {
  const model = tf.sequential();
  hp.hiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: hp.seed + i }),
        ...(i === 0 ? { inputShape: [inputWidth] } : {}),
      }),
    );
    if (hp.dropout > 0) model.add(tf.layers.dropout({ rate: hp.dropout, seed: hp.seed + 100 + i }));
  });
  model.add(
    tf.layers.dense({
      units: classCount,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: hp.seed + 1000 }),
      ...(hp.hiddenUnits.length === 0 ? { inputShape: [inputWidth] } : {}),
    }),
  );
  model.compile({
    optimizer: tf.train.adam(hp.learningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

export interface LabelledData {
  readonly features: readonly (readonly number[])[];
  readonly labels: readonly number[];
}

export interface EpochLog {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

/** Trains for `hp.epochs`, shuffling with the seeded PRNG each epoch so runs are reproducible. */
export async function trainClassifier(
  model: tf.LayersModel,
  train: LabelledData,
  validation: LabelledData | undefined,
  hp: MlpHyperparameters,
  onEpoch?: (log: EpochLog) => void,
): Promise<EpochLog[]> {
  const random = createRandom(hp.seed);
  const order = train.labels.map((_, i) => i);
  const history: EpochLog[] = [];
  const validationTensors =
    validation && validation.labels.length > 0
      ? ([
          tf.tensor2d(validation.features as number[][], [validation.labels.length, width(validation)]),
          tf.tensor1d(validation.labels as number[], 'float32'),
        ] as [tf.Tensor, tf.Tensor])
      : undefined;
  try {
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      const indices = shuffled(order, random);
      const x = tf.tensor2d(
        indices.map((i) => train.features[i] as number[]),
        [indices.length, width(train)],
      );
      const y = tf.tensor1d(
        indices.map((i) => train.labels[i] as number),
        'float32',
      );
      const result = await model.fit(x, y, {
        epochs: 1,
        batchSize: hp.batchSize,
        shuffle: false,
        verbose: 0,
        ...(validationTensors ? { validationData: validationTensors } : {}),
      });
      x.dispose();
      y.dispose();
      const h = result.history;
      const log: EpochLog = {
        epoch,
        loss: Number(h.loss?.[0]),
        accuracy: Number(h.acc?.[0] ?? h.accuracy?.[0]),
        ...(validationTensors
          ? {
              validationLoss: Number(h.val_loss?.[0]),
              validationAccuracy: Number(h.val_acc?.[0] ?? h.val_accuracy?.[0]),
            }
          : {}),
      };
      history.push(log);
      onEpoch?.(log);
    }
  } finally {
    validationTensors?.forEach((t) => {
      t.dispose();
    });
  }
  return history;
}

function width(data: LabelledData): number {
  return data.features[0]?.length ?? 0;
}

/** Class probabilities for each row. */
export function predictProbabilities(
  model: tf.LayersModel,
  features: readonly (readonly number[])[],
): number[][] {
  if (features.length === 0) return [];
  return tf.tidy(() => {
    const x = tf.tensor2d(features as number[][], [features.length, features[0]?.length ?? 0]);
    const y = model.predict(x) as tf.Tensor2D;
    return y.arraySync();
  });
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
