/**
 * A dense model read straight from its files — `model.json` (tfjs's LayersModel format) and `weights.bin` —
 * without tfjs: a Sequential model of Dense layers (and Dropout, inert at inference) becomes the plain-JS
 * forward pass of core/model-inference.ts, so that serving a dense model loads neither tfjs nor its wasm
 * backend (a cold start of milliseconds, a bundle of kilobytes). Any other model (a CNN, a layer or activation
 * outside the list, weights that are not float32) is undefined: it is served through tfjs.
 */

import { DENSE_ACTIVATIONS, type DenseActivation, type DenseStep, forwardPass } from './dense-forward.ts';
import type { ModelFiles } from './model-files.ts';

interface LayerJson {
  readonly class_name?: string;
  readonly config?: {
    readonly units?: number;
    readonly activation?: string;
    readonly use_bias?: boolean;
  };
}

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: unknown;
}

/** The model's forward pass, or undefined when it is not a dense Sequential model of float32 weights. */
export function denseModelForward(files: ModelFiles): ((x: Float32Array) => number[][]) | undefined {
  const steps = denseModelSteps(files);
  return steps ? forwardPass(steps) : undefined;
}

/**
 * The model's Dense layers, weights read, or undefined when it is not a dense Sequential model of float32
 * weights: what the forward pass runs, and what an ONNX export writes (core/onnx-export.ts).
 */
export function denseModelSteps(files: ModelFiles): DenseStep[] | undefined {
  const topology = files.modelJson.modelTopology as
    | { class_name?: string; config?: { layers?: LayerJson[] } | LayerJson[] }
    | undefined;
  if (topology?.class_name !== 'Sequential') return undefined;
  const layers = Array.isArray(topology.config) ? topology.config : topology.config?.layers;
  const manifest = files.modelJson.weightsManifest as { weights?: WeightSpec[] }[] | undefined;
  const specs = (manifest ?? []).flatMap((group) => group.weights ?? []);
  if (!layers || specs.some((spec) => spec.dtype !== 'float32' || spec.quantization !== undefined)) {
    return undefined;
  }
  // The weights, in the order the manifest lists them: each Dense layer's kernel, then its bias.
  const buffer = files.weights;
  let offset = 0;
  let next = 0;
  const take = (shape: readonly number[]): Float32Array | undefined => {
    const spec = specs[next++];
    if (!spec || spec.shape.length !== shape.length || spec.shape.some((d, i) => d !== shape[i]))
      return undefined;
    const count = shape.reduce((a, b) => a * b, 1);
    if (offset + count * 4 > buffer.byteLength) return undefined;
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(buffer.subarray(offset, offset + count * 4));
    offset += count * 4;
    return values;
  };
  const steps: DenseStep[] = [];
  let inputs = (specs[0]?.shape[0] ?? 0) as number;
  for (const layer of layers) {
    if (layer.class_name === 'Dropout') continue;
    if (layer.class_name !== 'Dense') return undefined;
    const units = layer.config?.units;
    const activation = layer.config?.activation ?? 'linear';
    if (typeof units !== 'number' || !(DENSE_ACTIVATIONS as readonly string[]).includes(activation))
      return undefined;
    const kernel = take([inputs, units]);
    if (!kernel) return undefined;
    const bias = layer.config?.use_bias === false ? undefined : take([units]);
    if (layer.config?.use_bias !== false && !bias) return undefined;
    steps.push({ kernel, bias, inputs, units, activation: activation as DenseActivation });
    inputs = units;
  }
  if (steps.length === 0 || next !== specs.length || offset !== buffer.byteLength) return undefined;
  return steps;
}
