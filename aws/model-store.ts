/** Model folders in S3: write a trained model's files, load a servable model (cached per process). */
import type * as tf from '@tensorflow/tfjs';
import { ARTIFACTS } from '../core/contract.ts';
import { deserializeModel, type ModelFiles, serializeModel } from '../core/model.ts';
import type { AnyPreprocessor } from '../core/preprocess.ts';
import type { ImageInputSchema, InputSchema } from '../core/serving.ts';
import { getBytes, getJson, putBytes, putJson } from './object-store.ts';

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

/** Everything the predict path needs from a model folder. */
export interface ServableModel {
  readonly model: tf.LayersModel;
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
        loadModel(bucket, prefix),
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
