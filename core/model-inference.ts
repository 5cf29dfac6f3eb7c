/**
 * Predictions of a trained model: class probabilities (or the regressor's number) for flat samples, through
 * tfjs or — for a model of Dense layers only — a plain-JS forward pass over its weights.
 */
import { DENSE_ACTIVATIONS, type DenseActivation, type DenseStep, forwardPass } from './dense-forward.ts';
import { inputTensor } from './model-data.ts';
import { tf } from './tfjs.ts';

/**
 * A model made only of Dense (and Dropout, inert at inference) layers as a plain-JS forward pass over its
 * weights: the same arithmetic as tfjs (float32 weights, sums in float64), without a tensor per call — a
 * prediction of one row costs microseconds instead of tfjs's fixed per-call overhead. Undefined for any other
 * model (CNNs), which stay on tfjs.
 */
export function denseForward(model: tf.LayersModel): ((x: Float32Array) => number[][]) | undefined {
  const steps: DenseStep[] = [];
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
  return steps.length > 0 ? forwardPass(steps) : undefined;
}

/** Class probabilities for each sample of `x` (flat samples, as in LabelledData). */
export function predictProbabilities(model: tf.LayersModel, x: Float32Array): number[][] {
  if (x.length === 0) return [];
  return tf.tidy(() => (model.predict(inputTensor(model, x)) as tf.Tensor2D).arraySync());
}
