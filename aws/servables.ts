/** Model folders in S3: write a trained model's files, load a servable model (cached per process). */
import type * as tf from '@tensorflow/tfjs';
import { combinePredictions, type EnsembleManifest } from '../core/ensemble.ts';
import { ARTIFACTS } from '../core/keys.ts';
import { deserializeModel, type ModelFiles, serializeModel } from '../core/model-files.ts';
import { denseForward, predictProbabilities } from '../core/model-inference.ts';
import type { AnyPreprocessor } from '../core/preprocessor.ts';
import type { ImageInputSchema, InputSchema } from '../core/serving.ts';
import { getBytes, getBytesIfExists, getJson, putBytes, putJson } from './object-store.ts';

export async function saveModelFiles(bucket: string, prefix: string, model: tf.LayersModel): Promise<void> {
  const files = await serializeModel(model, ARTIFACTS.weights);
  await putBytes(bucket, prefix + ARTIFACTS.weights, files.weights, 'application/octet-stream');
  await putJson(bucket, prefix + ARTIFACTS.modelJson, files.modelJson);
}

export async function loadModel(bucket: string, prefix: string): Promise<tf.LayersModel> {
  const [modelJson, weights] = await Promise.all([
    getJson<ModelFiles['modelJson']>(bucket, prefix + ARTIFACTS.modelJson),
    getBytes(bucket, prefix + ARTIFACTS.weights),
  ]);
  return deserializeModel({ modelJson, weights });
}

/** Class probabilities for flat samples: one model, or an ensemble of them combined. */
export interface Predictor {
  readonly members: number;
  predict(x: Float32Array): number[][];
  dispose(): void;
}

/**
 * The model of a model folder as a predictor: an ensemble folder (`ensemble.json`) loads every member from
 * its subfolder and combines their probabilities; any other folder is one model.
 */
export async function loadPredictor(bucket: string, prefix: string): Promise<Predictor> {
  const manifestBytes = await getBytesIfExists(bucket, prefix + ARTIFACTS.ensemble);
  if (!manifestBytes) {
    const model = await loadModel(bucket, prefix);
    return { members: 1, predict: forward(model), dispose: () => model.dispose() };
  }
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as EnsembleManifest;
  const models = await Promise.all(
    manifest.members.map((member) => loadModel(bucket, prefix + member.folder)),
  );
  const forwards = models.map(forward);
  return {
    members: models.length,
    predict: (x) =>
      combinePredictions(
        manifest.method,
        forwards.map((predict) => predict(x)),
      ),
    dispose: () => {
      for (const model of models) model.dispose();
    },
  };
}

/** Everything the predict path needs from a model folder. */
export interface ServableModel {
  readonly model: Predictor;
  readonly preprocessor: AnyPreprocessor;
  readonly schema: InputSchema | ImageInputSchema;
}

const cache = new Map<string, Promise<ServableModel>>();

/** Loads a model folder once per process; a failed load is not cached. */
export function loadServable(bucket: string, prefix: string): Promise<ServableModel> {
  const key = `${bucket}/${prefix}`;
  let entry = cache.get(key);
  if (!entry) {
    entry = (async () => {
      const [model, preprocessor, schema] = await Promise.all([
        loadPredictor(bucket, prefix),
        getJson<AnyPreprocessor>(bucket, prefix + ARTIFACTS.preprocessor),
        getJson<InputSchema | ImageInputSchema>(bucket, prefix + ARTIFACTS.schema),
      ]);
      return { model, preprocessor, schema };
    })();
    entry.catch(() => cache.delete(key));
    cache.set(key, entry);
  }
  return entry;
}

/** A dense model's plain-JS forward pass (core/model-inference.ts `denseForward`), else tfjs. */
function forward(model: tf.LayersModel): (x: Float32Array) => number[][] {
  return denseForward(model) ?? ((x) => predictProbabilities(model, x));
}
