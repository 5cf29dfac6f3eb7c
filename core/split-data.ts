/**
 * Processed splits as flat samples and labels (`LabelledData`), without tfjs: what a model is fed (tensors of
 * its input shape are core/model-data.ts's) and what a plain-JS forward pass reads (the stacking fit in
 * RecordTrials).
 */
import { flatten } from './dense-forward.ts';
import type { ProcessedSplit } from './pipeline.ts';
import { imageInput } from './preprocessor.ts';

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
