/**
 * Model folders through tfjs: writing a trained model's files, and the forward pass of a model the plain-JS
 * path cannot run (a CNN). Imported only where tfjs runs anyway (training, evaluation) or, lazily, when a
 * servable model is not dense (aws/servables.ts): serving a dense model never loads tfjs or its wasm backend.
 */
import { ENV } from '../core/contract.ts';
import { ARTIFACTS } from '../core/keys.ts';
import { deserializeModel, type ModelFiles, serializeModel } from '../core/model-files.ts';
import { denseForward, predictProbabilities } from '../core/model-inference.ts';
import { selectBackend, type tf } from '../core/tfjs.ts';
import { putBytes, putJson } from './object-store.ts';

export async function saveModelFiles(bucket: string, prefix: string, model: tf.LayersModel): Promise<void> {
  const files = await serializeModel(model, ARTIFACTS.weights);
  await putBytes(bucket, prefix + ARTIFACTS.weights, files.weights, 'application/octet-stream');
  await putJson(bucket, prefix + ARTIFACTS.modelJson, files.modelJson);
}

let backend: Promise<unknown> | undefined;

/**
 * The model's forward pass through tfjs, on the backend NIMBUS_TF_BACKEND names (else the best there is), and
 * the release of its tensors.
 */
export async function tfjsForward(
  files: ModelFiles,
): Promise<{ predict: (x: Float32Array) => number[][]; dispose: () => void }> {
  backend ??= selectBackend(process.env[ENV.tfBackend]);
  backend.catch(() => {
    backend = undefined;
  });
  await backend;
  const model = await deserializeModel(files);
  return {
    predict: denseForward(model) ?? ((x) => predictProbabilities(model, x)),
    dispose: () => model.dispose(),
  };
}
