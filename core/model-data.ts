/**
 * Model inputs: processed splits as flat samples and labels (`LabelledData`), and flat samples as tensors of
 * a model's input shape.
 */

import { flatten } from './dense-forward.ts';
import { ModelSpecError } from './model-builders.ts';
import type { ProcessedSplit } from './pipeline.ts';
import { imageInput } from './preprocessor.ts';
import { tf } from './tfjs.ts';

export { flatten };

/** Samples as one flat array (`labels.length` × the model's input size) and their class indices. */
export interface LabelledData {
  readonly x: Float32Array;
  readonly labels: readonly number[];
}

/**
 * A processed split file → model inputs: feature rows as they are, image bytes through `imageInput`, shards
 * (read with `readShard`) concatenated.
 */
export async function splitData(
  split: ProcessedSplit,
  readShard: (key: string) => Promise<Uint8Array>,
): Promise<LabelledData> {
  if (!('shards' in split)) return splitToData(split);
  const x = new Float32Array(split.rows * split.width);
  const labels = new Array<number>(split.rows);
  let offset = 0;
  for (const shard of split.shards) {
    const bytes = await readShard(shard.key);
    const floats = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    x.set(floats.subarray(0, shard.rows * split.width), offset * split.width);
    for (let i = 0; i < shard.rows; i++) labels[offset + i] = floats[shard.rows * split.width + i] as number;
    offset += shard.rows;
  }
  return { x, labels };
}

/** An in-file split → model inputs: feature rows as they are, image bytes through `imageInput`. */
export function splitToData(split: Exclude<ProcessedSplit, { format: 'shards' }>): LabelledData {
  if ('features' in split) return { x: flatten(split.features), labels: split.labels };
  const pixels = new Uint8Array(Buffer.from(split.pixels, 'base64'));
  const x = new Float32Array(pixels.length);
  imageInput(pixels, x);
  return { x, labels: split.labels };
}

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
