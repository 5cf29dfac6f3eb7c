/**
 * Predictions of a trained model: class probabilities (or the regressor's number) for flat samples, through
 * tfjs or — for a model of Dense layers only — a plain-JS forward pass over its weights.
 */
import { inputTensor } from './model-data.ts';
import { tf } from './tfjs.ts';

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

/** Class probabilities for each sample of `x` (flat samples, as in LabelledData). */
export function predictProbabilities(model: tf.LayersModel, x: Float32Array): number[][] {
  if (x.length === 0) return [];
  return tf.tidy(() => (model.predict(inputTensor(model, x)) as tf.Tensor2D).arraySync());
}
