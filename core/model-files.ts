/**
 * Models as files, without touching any filesystem or store: the tfjs LayersModel format (`model.json` + one
 * weights file), and a model's training state (its weights and its optimizer's) for checkpoints.
 */
import { tf } from './tfjs.ts';

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

/** The weights of a model's files as tensors, in the order the manifest lists them (`model.getWeights()`'s). */
export function decodeModelWeights(files: ModelFiles): tf.Tensor[] {
  const manifest = files.modelJson.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[];
  const specs = manifest.flatMap((group) => group.weights);
  const data = files.weights;
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const tensors = tf.io.decodeWeights(buffer, specs);
  return specs.map((spec) => tensors[spec.name] as tf.Tensor);
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
