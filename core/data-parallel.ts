/**
 * Data-parallel training over `worker_threads`: one epoch of a compiled model's training, each batch split
 * into contiguous shards, one per replica — this thread's model and `count - 1` workers, each with its own
 * wasm backend and a copy of the model. Each replica computes the gradient of its shard's share of the batch
 * loss, Σ_{i∈shard} wᵢ·ℓᵢ / n + (n_shard / n)·R (sample weight w, per-sample loss ℓ, batch size n,
 * regularization R), so the shards' gradients, summed in replica order, are the whole batch's gradient: the
 * step `model.fit` takes, with the same optimizer, applied here once; the new weights go to every worker.
 * One synchronisation per batch (not one per kernel, as a threaded backend has), so a busy second core costs
 * a batch its wait, not every operation. Reproducible for a given seed and replica count.
 */
import { Worker } from 'node:worker_threads';
import { tf } from './tfjs.ts';

/** A worker's part of a batch: rows [start, end) of the epoch's data, `total` rows in the batch. */
interface StepMessage {
  readonly type: 'step';
  readonly weights: Float32Array[];
  readonly start: number;
  readonly end: number;
  readonly total: number;
}

interface EpochMessage {
  readonly type: 'epoch';
  readonly x: Float32Array;
  readonly shape: number[];
  readonly y: Float32Array;
  readonly sampleWeights: Float32Array | undefined;
}

interface InitMessage {
  readonly type: 'init';
  readonly topology: object;
  readonly loss: string;
  readonly metrics: string[];
}

export type ToWorker = InitMessage | EpochMessage | StepMessage | { readonly type: 'close' };

/** A shard's gradients (one array per trainable weight, in the model's order), loss share and correct count. */
export interface ShardResult {
  readonly gradients: Float32Array[];
  readonly loss: number;
  readonly correct: number;
}

export type FromWorker =
  | { readonly type: 'ready' }
  | ({ readonly type: 'step' } & ShardResult)
  | { readonly type: 'error'; readonly message: string };

interface CompiledModel {
  lossFunctions: ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor)[];
  metricsTensors: [(yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor, number][];
  metricsNames: string[];
  calculateLosses(): tf.Scalar[];
}

/** What `compile` made, which `fit` computes its step with (a Sequential's inner model holds it). */
function compiledModel(model: tf.LayersModel): CompiledModel {
  const inner = (model as unknown as { model?: CompiledModel }).model;
  return inner ?? (model as unknown as CompiledModel);
}

/**
 * The gradient of rows [start, end) of `x`/`y` (and their sample weights) as a share of a batch of `total`
 * rows: see the module comment. Used by every replica, this thread's included.
 */
export function shardGradients(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  sampleWeights: tf.Tensor | undefined,
  start: number,
  end: number,
  total: number,
): ShardResult {
  const { gradients, loss, correct } = shardGradientTensors(model, x, y, sampleWeights, start, end, total);
  const values = gradients.map((g) => g.dataSync() as Float32Array);
  tf.dispose(gradients);
  return { gradients: values, loss, correct };
}

/** `shardGradients` with the gradients left on the backend (the caller disposes them). */
function shardGradientTensors(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  sampleWeights: tf.Tensor | undefined,
  start: number,
  end: number,
  total: number,
): { gradients: tf.Tensor[]; loss: number; correct: number } {
  const compiled = compiledModel(model);
  const lossFunction = compiled.lossFunctions[0];
  if (!lossFunction) throw new Error('data-parallel training needs a compiled model');
  const metric = compiled.metricsTensors[0]?.[0];
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const rows = end - start;
  if (rows === 0) return { gradients: variables.map((v) => tf.zerosLike(v)), loss: 0, correct: 0 };
  let correct = 0;
  const { value, grads } = tf.tidy(() => {
    const xs = x.slice(start, rows);
    const ys = y.slice(start, rows).reshape([rows, 1]);
    const ws = sampleWeights?.slice(start, rows);
    return tf.variableGrads(() => {
      const predictions = model.apply(xs, { training: true }) as tf.Tensor;
      let losses = lossFunction(ys, predictions);
      if (ws) losses = tf.mul(losses, ws);
      let share = tf.div(tf.sum(losses), total) as tf.Scalar;
      for (const penalty of compiled.calculateLosses()) share = tf.add(share, tf.mul(penalty, rows / total));
      if (metric) correct = tf.sum(metric(ys, predictions)).dataSync()[0] as number;
      return share;
    }, variables);
  });
  const gradients = variables.map((v) => {
    const g = grads[v.name];
    if (!g) throw new Error(`no gradient for ${v.name}`);
    return g;
  });
  const loss = value.dataSync()[0] as number;
  value.dispose();
  return { gradients, loss, correct };
}

/** The workers of a data-parallel run, started once per training run. */
export class Replicas {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `count - 1` workers, each with a copy of `model` (its topology: weights come with each step). */
  static async start(model: tf.LayersModel, count: number): Promise<Replicas> {
    const workers = Array.from({ length: count - 1 }, () => startWorker());
    const replicas = new Replicas(workers);
    if (typeof model.loss !== 'string')
      throw new Error('data-parallel training needs a loss named in compile');
    const init: InitMessage = {
      type: 'init',
      topology: model.toJSON(null, false) as object,
      loss: model.loss,
      metrics: compiledModel(model).metricsTensors.length > 0 ? ['accuracy'] : [],
    };
    try {
      await Promise.all(workers.map((w) => replicas.send(w, init)));
    } catch (error) {
      await replicas.close();
      throw error;
    }
    return replicas;
  }

  /** Replicas, this thread's included. */
  get count(): number {
    return this.workers.length + 1;
  }

  /**
   * One epoch over `x`/`y` (already in the epoch's order) in batches of `batchSize`; `onBatchEnd` may end it
   * early by returning true. Returns the epoch's mean loss and accuracy (as `model.fit` reports them) and
   * whether it was cut short.
   */
  async fitEpoch(
    model: tf.LayersModel,
    x: tf.Tensor,
    y: tf.Tensor,
    batchSize: number,
    classWeight: Record<number, number> | undefined,
    onBatchEnd?: (batch: number) => boolean,
  ): Promise<{ loss: number; accuracy: number; cutShort: boolean }> {
    const labels = y.dataSync() as Float32Array;
    const weights = classWeight ? Float32Array.from(labels, (l) => classWeight[l] ?? 1) : undefined;
    const sampleWeights = weights ? tf.tensor1d(weights) : undefined;
    const epoch: EpochMessage = {
      type: 'epoch',
      x: x.dataSync() as Float32Array,
      shape: x.shape,
      y: labels,
      sampleWeights: weights,
    };
    await Promise.all(this.workers.map((w) => this.send(w, epoch)));
    const rows = labels.length;
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    let lossSum = 0;
    let correct = 0;
    try {
      for (let start = 0, batch = 0; start < rows; start += batchSize, batch++) {
        const end = Math.min(rows, start + batchSize);
        const total = end - start;
        const bounds = shardBounds(start, end, this.count);
        const current = variables.map((v) => v.dataSync() as Float32Array);
        const theirs = this.workers.map((w, i) => {
          const [from, to] = bounds[i + 1] as [number, number];
          return this.send(w, { type: 'step', weights: current, start: from, end: to, total });
        });
        const [from, to] = bounds[0] as [number, number];
        const own = shardGradientTensors(model, x, y, sampleWeights, from, to, total);
        const others = (await Promise.all(theirs)) as ShardResult[];
        let batchLoss = own.loss;
        correct += own.correct;
        for (const r of others) {
          batchLoss += r.loss;
          correct += r.correct;
        }
        lossSum += batchLoss * total;
        // The shards' gradients summed in replica order (this thread's first), on the backend.
        const named: tf.NamedTensorMap = {};
        variables.forEach((v, i) => {
          named[v.name] = tf.tidy(() =>
            others.reduce(
              (sum, r) => tf.add(sum, tf.tensor(r.gradients[i] as Float32Array, v.shape)),
              own.gradients[i] as tf.Tensor,
            ),
          );
        });
        model.optimizer.applyGradients(named);
        tf.dispose([...Object.values(named), ...own.gradients]);
        if (onBatchEnd?.(batch) && end < rows) {
          return { loss: lossSum / end, accuracy: correct / end, cutShort: true };
        }
      }
    } finally {
      sampleWeights?.dispose();
    }
    return { loss: lossSum / rows, accuracy: correct / rows, cutShort: false };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private send(worker: Worker, message: ToWorker): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: FromWorker) => {
        worker.off('error', onError);
        if (reply.type === 'error') reject(new Error(`a training worker failed: ${reply.message}`));
        else resolve(reply);
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.postMessage(message);
    });
  }
}

/**
 * A worker running data-parallel-worker: the bundled `.mjs` beside this file in the training container, or,
 * where this file runs as TypeScript (tsx, whose loader a worker does not inherit), the `.ts` file after the
 * worker registers tsx's loader itself.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./data-parallel-worker.mjs', import.meta.url));
  const source = JSON.stringify(new URL('./data-parallel-worker.ts', import.meta.url).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${source}); });`, {
    eval: true,
  });
}

/** Rows [start, end) split into `parts` contiguous shards, the first ones a row longer where it does not divide. */
export function shardBounds(start: number, end: number, parts: number): [number, number][] {
  const size = end - start;
  const bounds: [number, number][] = [];
  let from = start;
  for (let i = 0; i < parts; i++) {
    const to = from + Math.floor(size / parts) + (i < size % parts ? 1 : 0);
    bounds.push([from, to]);
    from = to;
  }
  return bounds;
}
