/**
 * Servable model folders in S3, loaded once per process: a dense model as a plain-JS forward pass read
 * straight from its files (core/dense-model.ts: no tfjs), any other through tfjs, imported only then
 * (aws/tfjs-models.ts). An ensemble folder loads each member so.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FILES } from '../core/contract.ts';
import { denseModelForward } from '../core/dense-model.ts';
import { combinePredictions, type EnsembleManifest } from '../core/ensemble.ts';
import { ARTIFACTS } from '../core/keys.ts';
import type { ModelFiles } from '../core/model-files.ts';
import type { OnnxBinding } from '../core/onnx.ts';
import type { AnyPreprocessor } from '../core/preprocessor.ts';
import type { ImageInputSchema, InputSchema } from '../core/serving.ts';
import { getBytes, getBytesIfExists, getJson } from './object-store.ts';

async function loadFiles(bucket: string, prefix: string): Promise<ModelFiles> {
  const [modelJson, weights] = await Promise.all([
    getJson<ModelFiles['modelJson']>(bucket, prefix + ARTIFACTS.modelJson),
    getBytes(bucket, prefix + ARTIFACTS.weights),
  ]);
  return { modelJson, weights };
}

type Forward = { predict: (x: Float32Array) => number[][] | Promise<number[][]>; dispose: () => void };

/**
 * A model folder's forward pass: an imported model through onnxruntime (loaded now, the first time), a dense
 * model in plain JS, any other through tfjs (loaded now, the first time).
 */
async function loadForward(bucket: string, prefix: string): Promise<Forward> {
  const binding = await getBytesIfExists(bucket, prefix + ARTIFACTS.onnxBinding);
  if (binding) {
    const { onnxForward } = await import('./onnx-models.ts');
    return onnxForward(
      await getBytes(bucket, prefix + ARTIFACTS.onnx),
      JSON.parse(new TextDecoder().decode(binding)) as OnnxBinding,
    );
  }
  const files = await loadFiles(bucket, prefix);
  const dense = denseModelForward(files);
  if (dense) return { predict: dense, dispose: () => {} };
  const { tfjsForward } = await tfjsModels();
  return tfjsForward(files);
}

let bundled: typeof import('./tfjs-models.ts') | undefined;

/**
 * For a function that holds tfjs in its own bundle anyway (it reads training data with it: evaluate, batch
 * prediction): the tfjs-models module to use, so that one copy of tfjs runs in the process.
 */
export function useBundledTfjs(module: typeof import('./tfjs-models.ts')): void {
  bundled = module;
}

/**
 * aws/tfjs-models.ts, on first need. In a function's bundle it is a file of its own beside the handler's
 * (`tfjs-models.js`, built with it: infra/function.ts), so that loading the handler does not parse tfjs; from
 * the sources, the module (its path in a variable: the bundler leaves that import alone).
 */
function tfjsModels(): Promise<typeof import('./tfjs-models.ts')> {
  if (bundled) return Promise.resolve(bundled);
  const built = new URL(`./${BUNDLE_FILES.tfjsModels}`, import.meta.url);
  if (existsSync(built)) {
    return Promise.resolve(
      createRequire(import.meta.url)(fileURLToPath(built)) as typeof import('./tfjs-models.ts'),
    );
  }
  const source = './tfjs-models.ts';
  return import(source) as Promise<typeof import('./tfjs-models.ts')>;
}

/** Class probabilities for flat samples: one model, or an ensemble of them combined. */
export interface Predictor {
  readonly members: number;
  predict(x: Float32Array): Promise<number[][]>;
  /** Releases what tfjs holds of the model (nothing for a dense model). */
  dispose(): void;
}

/**
 * The model of a model folder as a predictor: an ensemble folder (`ensemble.json`) loads every member from
 * its subfolder and combines their outputs (a stack through its meta-model, plain JS too); any other folder
 * is one model.
 */
export async function loadPredictor(bucket: string, prefix: string): Promise<Predictor> {
  const manifestBytes = await getBytesIfExists(bucket, prefix + ARTIFACTS.ensemble);
  if (!manifestBytes) {
    const forward = await loadForward(bucket, prefix);
    return { members: 1, predict: async (x) => forward.predict(x), dispose: () => forward.dispose() };
  }
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as EnsembleManifest;
  const forwards = await Promise.all(
    manifest.members.map((member) => loadForward(bucket, prefix + member.folder)),
  );
  return {
    members: forwards.length,
    predict: async (x) =>
      combinePredictions(manifest, await Promise.all(forwards.map((member) => member.predict(x)))),
    dispose: () => {
      for (const member of forwards) member.dispose();
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
