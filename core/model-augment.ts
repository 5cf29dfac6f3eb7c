/**
 * More training samples than the data has: image augmentation (a new flip/shift of each image every epoch)
 * and SMOTE oversampling of the smaller classes of feature rows. Both seeded, so a run is reproducible.
 */
import type { TrainingHyperparameters } from './hyperparameters.ts';
import type { LabelledData } from './model-data.ts';
import { createRandom } from './random.ts';
import { tf } from './tfjs.ts';

/**
 * Image augmentation for one epoch: each image flipped left–right with probability ½ and/or shifted by up to
 * 10% of its size each way (one projective transform per image, edges filled with zeros). Seeded by epoch,
 * so a resumed job augments as the uninterrupted one would have.
 */
export function augment(xs: tf.Tensor, hp: TrainingHyperparameters, epoch: number): tf.Tensor {
  const mode = hp.augment ?? 'none';
  if (mode === 'none' || xs.rank !== 4) return xs;
  const [n, height, width] = xs.shape as [number, number, number, number];
  const random = createRandom(hp.seed * 1000003 + epoch);
  const flip = mode.includes('flip');
  const shift = mode.includes('shift');
  const transforms = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    const flipped = flip && random() < 0.5;
    const dx = shift ? Math.round((random() * 2 - 1) * 0.1 * width) : 0;
    const dy = shift ? Math.round((random() * 2 - 1) * 0.1 * height) : 0;
    // Output (x, y) reads input (a0·x + a2, b1·y + b2).
    transforms.set([flipped ? -1 : 1, 0, (flipped ? width - 1 : 0) + dx, 0, 1, dy, 0, 0], i * 8);
  }
  return tf.tidy(() =>
    tf.image.transform(xs as tf.Tensor4D, tf.tensor2d(transforms, [n, 8]), 'nearest', 'constant', 0),
  );
}

/**
 * SMOTE: every class smaller than the largest gets synthetic samples up to its size, each on the segment
 * between a sample of the class and one of its 5 nearest neighbours in that class (a lone sample is copied).
 * Seeded, so the same data and seed give the same rows.
 */
export function smote(data: LabelledData, width: number, seed: number, neighbours = 5): LabelledData {
  const byClass = new Map<number, number[]>();
  data.labels.forEach((label, i) => {
    const members = byClass.get(label) ?? [];
    members.push(i);
    byClass.set(label, members);
  });
  const target = Math.max(...[...byClass.values()].map((members) => members.length));
  const random = createRandom(seed + 7);
  const extra: number[] = [];
  const extraLabels: number[] = [];
  const row = (i: number) => data.x.subarray(i * width, (i + 1) * width);
  for (const [label, members] of [...byClass].sort((a, b) => a[0] - b[0])) {
    const missing = target - members.length;
    if (missing <= 0) continue;
    const nearest = members.map((i) =>
      members
        .filter((j) => j !== i)
        .map((j) => ({ j, d: row(i).reduce((sum, v, k) => sum + (v - (row(j)[k] as number)) ** 2, 0) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, neighbours)
        .map((e) => e.j),
    );
    for (let s = 0; s < missing; s++) {
      const pick = Math.floor(random() * members.length);
      const base = row(members[pick] as number);
      const candidates = nearest[pick] as number[];
      const other =
        candidates.length > 0 ? row(candidates[Math.floor(random() * candidates.length)] as number) : base;
      const t = random();
      for (let k = 0; k < width; k++)
        extra.push((base[k] as number) + t * ((other[k] as number) - (base[k] as number)));
      extraLabels.push(label);
    }
  }
  if (extraLabels.length === 0) return data;
  const x = new Float32Array(data.x.length + extra.length);
  x.set(data.x);
  x.set(extra, data.x.length);
  return { x, labels: [...data.labels, ...extraLabels] };
}
