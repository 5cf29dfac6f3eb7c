/**
 * Model inputs: processed splits as flat samples and labels (`LabelledData`), and flat samples as tensors of
 * a model's input shape.
 */

import { flatten } from './dense-forward.ts';
import { ModelSpecError } from './model-builders.ts';
import type { LabelledData } from './split-data.ts';
import { tf } from './tfjs.ts';

export { type LabelledData, splitData, splitToData } from './split-data.ts';
export { flatten };

/** How many values one sample of the model's input has. */
export function sampleSize(model: tf.LayersModel): number {
  return sampleShape(model).reduce((a, b) => a * b, 1);
}

/** The shape of one sample the model takes (without the batch dimension). */
function sampleShape(model: tf.LayersModel): number[] {
  return (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? 0);
}

/** Flat samples → an input tensor of the model's shape; labels → a float tensor. */
export function toTensors(model: tf.LayersModel, data: LabelledData): [tf.Tensor, tf.Tensor] {
  return [inputTensor(model, data.x), tf.tensor1d(data.labels as number[], 'float32')];
}

/** Flat samples → an input tensor of the model's shape (a ModelSpecError when they are not whole samples). */
export function inputTensor(model: tf.LayersModel, x: Float32Array): tf.Tensor {
  const shape = sampleShape(model);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 0 || x.length % size !== 0) {
    throw new ModelSpecError(
      `${x.length} input values are not whole samples of ${size} (${shape.join('×')})`,
    );
  }
  return tf.tensor(x, [x.length / size, ...shape]);
}
