/**
 * The seeded training loop (`trainModel`, for classifiers and regressors alike) and what it is steered by:
 * the learning-rate schedule, balanced class weights, early stopping, which keeps the best epoch's weights,
 * and the time budget that ends training on them too.
 */
import { Replicas } from './data-parallel.ts';
import type { TrainingHyperparameters } from './hyperparameters.ts';
import { augment, smote } from './model-augment.ts';
import { isRegressor } from './model-builders.ts';
import { type LabelledData, sampleSize, toTensors } from './model-data.ts';
import type { EpochLog } from './pipeline.ts';
import { createRandom, shuffled } from './random.ts';
import { tf } from './tfjs.ts';

export interface TrainingOptions {
  /** Epochs already trained (a resumed job): training goes on from the next, in the same shuffle order. */
  readonly history?: readonly EpochLog[];
  /** Called after each epoch, and awaited: a checkpoint is written here. */
  readonly onEpoch?: (log: EpochLog, history: readonly EpochLog[]) => void | Promise<void>;
  /**
   * The time budget's end (milliseconds, as `now` reads them). Once it has passed, training stops after the
   * batch in progress — an epoch cut short is not counted, and at least one epoch is always trained — and
   * the model gets back the weights of its best epoch: the lowest validation loss of the epochs this job
   * trained (the epoch it resumed from included), or the last complete epoch without validation data.
   */
  readonly deadline?: number;
  /** The clock `deadline` is read on. @default Date.now */
  readonly now?: () => number;
  /**
   * A resumed job's best epoch before the one it resumed from (its checkpoint kept: core/checkpoints.ts), with
   * its weights in the model's order: the first candidate for the best epoch's weights.
   */
  readonly best?: { readonly log: EpochLog; readonly weights: readonly tf.Tensor[] };
  /**
   * Replicas of data-parallel training (core/data-parallel.ts): this thread and `replicas - 1` workers, each
   * batch split between them. @default 1 (the batches on this thread, through `model.fit`)
   */
  readonly replicas?: number;
}

export interface TrainingResult {
  readonly history: EpochLog[];
  /**
   * The epoch whose weights the model has: with validation data and early stopping (`patience`), or a time
   * budget, the best one — the lowest validation loss of those this job trained, Keras's
   * `restore_best_weights` — else the last.
   */
  readonly bestEpoch: number;
  /** The epoch early stopping ended on, when it did. */
  readonly stoppedEarly?: number;
  /** Set when the deadline ended training before its epochs: the epoch whose weights the model now has. */
  readonly stoppedOnBudget?: { readonly bestEpoch: number };
}

/**
 * The weights of the best epoch so far, kept (as copies) while a deadline may stop training: the lowest
 * validation loss when there is validation data (an epoch whose loss is not a number never is), else the
 * latest epoch.
 */
class BestWeights {
  private kept: { epoch: number; loss: number; weights: tf.Tensor[] } | undefined;

  constructor(private readonly byValidationLoss: boolean) {}

  offer(model: tf.LayersModel, log: EpochLog): void {
    this.offerWeights(log, model.getWeights());
  }

  /** Keeps copies of `weights` when `log` is the best epoch so far. */
  offerWeights(log: EpochLog, weights: readonly tf.Tensor[]): void {
    const loss = this.byValidationLoss ? (log.validationLoss ?? Number.NaN) : 0;
    if (!Number.isFinite(loss)) return;
    if (this.byValidationLoss && this.kept && !(loss < this.kept.loss)) return;
    this.dispose();
    this.kept = { epoch: log.epoch, loss, weights: weights.map((w) => w.clone()) };
  }

  /** Puts the kept weights back into the model; returns their epoch (undefined when none was kept). */
  restore(model: tf.LayersModel): number | undefined {
    if (!this.kept) return undefined;
    model.setWeights(this.kept.weights);
    return this.kept.epoch;
  }

  dispose(): void {
    if (this.kept) tf.dispose(this.kept.weights);
    this.kept = undefined;
  }
}

/**
 * Trains for `hp.epochs`, shuffling with the seeded PRNG each epoch so runs are reproducible. The data stays
 * on the backend; each epoch gathers it in a new order. Also: the learning-rate schedule, balanced class
 * weights, early stopping when validation loss has not improved for `hp.patience` epochs, and the time
 * budget (`options.deadline`), which ends training on the best epoch's weights.
 */
export async function trainModel(
  model: tf.LayersModel,
  train: LabelledData,
  validation: LabelledData | undefined,
  hp: TrainingHyperparameters,
  options: TrainingOptions = {},
): Promise<TrainingResult> {
  const classifier = !isRegressor(model);
  if (classifier && hp.oversample === 'smote') train = smote(train, sampleSize(model), hp.seed);
  const random = createRandom(hp.seed);
  const order = train.labels.map((_, i) => i);
  const history: EpochLog[] = [...(options.history ?? [])];
  // A resumed job replays the shuffles it already did, so epoch k sees the order it would have seen.
  for (let epoch = 1; epoch <= history.length; epoch++) shuffled(order, random);
  const classWeight =
    classifier && hp.classWeight === 'balanced' ? balancedClassWeights(train.labels) : undefined;
  const [x, y] = toTensors(model, train);
  const validationTensors =
    validation && validation.labels.length > 0 ? toTensors(model, validation) : undefined;
  const { deadline, now = Date.now } = options;
  // The best epoch's weights are kept where training may end on them: a deadline, or early stopping (which
  // also ends, after its last epoch, on the best one).
  const earlyStopping = validationTensors !== undefined && (hp.patience ?? 0) > 0;
  const best =
    deadline !== undefined || earlyStopping ? new BestWeights(validationTensors !== undefined) : undefined;
  // A resumed job has the weights of the epoch it resumed from, and maybe a better one's its checkpoints kept.
  if (best && options.best) best.offerWeights(options.best.log, options.best.weights);
  const resumedFrom = history[history.length - 1];
  if (best && resumedFrom) best.offer(model, resumedFrom);
  // Past the deadline with an epoch to keep: stop (between epochs, or after the batch in progress).
  const timeUp = () => deadline !== undefined && history.length > 0 && now() >= deadline;
  const stopOnBudget = (): TrainingResult => {
    const bestEpoch = best?.restore(model) ?? history.length;
    return { history, bestEpoch, stoppedOnBudget: { bestEpoch } };
  };
  // Early stopping ends on the best epoch, whether it stopped training or the epochs ran out first.
  const finish = (): number => (earlyStopping ? best?.restore(model) : undefined) ?? history.length;
  const replicas =
    (options.replicas ?? 1) > 1 ? await Replicas.start(model, options.replicas ?? 1) : undefined;
  try {
    for (let epoch = history.length + 1; epoch <= hp.epochs; epoch++) {
      if (shouldStop(history, hp.patience)) return { history, bestEpoch: finish(), stoppedEarly: epoch - 1 };
      if (timeUp()) return stopOnBudget();
      setLearningRate(model, learningRateAt(hp, epoch));
      const indices = tf.tensor1d(shuffled(order, random), 'int32');
      const gathered = tf.gather(x, indices);
      const xs = augment(gathered, hp, epoch);
      if (xs !== gathered) gathered.dispose();
      const ys = tf.gather(y, indices);
      indices.dispose();
      let cutShort = false;
      const lastBatch = Math.ceil(order.length / hp.batchSize) - 1;
      let h: Record<string, number[] | undefined>;
      if (replicas) {
        const epochResult = await replicas.fitEpoch(model, xs, ys, hp.batchSize, classWeight, (batch) => {
          return batch < lastBatch && timeUp();
        });
        cutShort = epochResult.cutShort;
        h = { loss: [epochResult.loss], acc: [epochResult.accuracy] };
        if (validationTensors && !cutShort) {
          const evaluated = model.evaluate(validationTensors[0], validationTensors[1], {
            batchSize: hp.batchSize,
          }) as tf.Scalar[];
          h.val_loss = [evaluated[0]?.dataSync()[0] as number];
          h.val_acc = [evaluated[1]?.dataSync()[0] as number];
          tf.dispose(evaluated);
        }
      } else {
        const result = await model.fit(xs, ys, {
          epochs: 1,
          batchSize: hp.batchSize,
          shuffle: false,
          verbose: 0,
          classWeight,
          validationData: validationTensors,
          callbacks:
            deadline === undefined
              ? undefined
              : {
                  // After the last batch the epoch is complete (validated, too): it ends as any other.
                  onBatchEnd: async (batch) => {
                    if (batch < lastBatch && timeUp()) {
                      cutShort = true;
                      model.stopTraining = true;
                    }
                  },
                },
        });
        h = result.history as Record<string, number[]>;
      }
      xs.dispose();
      ys.dispose();
      // An epoch the deadline cut short did not finish: it is not an epoch of the history, nor its weights.
      if (cutShort) return stopOnBudget();
      const log: EpochLog = {
        epoch,
        loss: Number(h.loss?.[0]),
        ...(classifier ? { accuracy: Number(h.acc?.[0] ?? h.accuracy?.[0]) } : {}),
        ...(validationTensors
          ? {
              validationLoss: Number(h.val_loss?.[0]),
              ...(classifier ? { validationAccuracy: Number(h.val_acc?.[0] ?? h.val_accuracy?.[0]) } : {}),
            }
          : {}),
      };
      history.push(log);
      best?.offer(model, log);
      await options.onEpoch?.(log, history);
    }
    return { history, bestEpoch: finish() };
  } finally {
    tf.dispose([x, y, ...(validationTensors ?? [])]);
    best?.dispose();
    await replicas?.close();
  }
}

/** Early stopping: no better validation loss in the last `patience` epochs. */
export function shouldStop(history: readonly EpochLog[], patience = 0): boolean {
  if (patience <= 0 || history.length <= patience) return false;
  const losses = history.map((log) => log.validationLoss ?? Number.POSITIVE_INFINITY);
  const best = Math.min(...losses);
  return losses.lastIndexOf(best) < history.length - patience;
}

/** The learning rate of an epoch (1-based): constant, or cosine decay from `learningRate` towards zero. */
export function learningRateAt(hp: TrainingHyperparameters, epoch: number): number {
  if (hp.schedule !== 'cosine' || hp.epochs <= 1) return hp.learningRate;
  return hp.learningRate * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / hp.epochs));
}

function setLearningRate(model: tf.LayersModel, rate: number): void {
  // tfjs optimizers read `learningRate` on every step; it has no public setter.
  (model.optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/** Weights inversely proportional to class frequency (n / (k × count)), for imbalanced classes. */
export function balancedClassWeights(labels: readonly number[]): Record<number, number> {
  const counts = new Map<number, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return Object.fromEntries(
    [...counts].map(([label, count]) => [label, labels.length / (counts.size * count)]),
  );
}
