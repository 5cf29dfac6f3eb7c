/**
 * The training container's entrypoint. The same program runs as an AWS Batch job, a SageMaker training job
 * and, locally, a child process of `npm start`.
 *
 * Contracts:
 * - Batch (and local): the job spec is JSON in the `NIMBUS_TRAINING_JOB` environment variable.
 * - SageMaker: the job spec is the `nimbus_job` hyperparameter in
 *   `/opt/ml/input/config/hyperparameters.json`; the model files are also copied to `/opt/ml/model`, and a
 *   failure is described in `/opt/ml/output/failure`.
 * Data is read from the SageMaker channels `train` and `validation` when present, else from S3 (the spec
 * names the keys); the model folder is written to S3. Exit code 0 means the model
 * folder is complete; anything else is a failure, with the reason as the last line on stderr.
 * The job's budget (spec `budget`, core/budget.ts): a model with more parameters than it allows is refused
 * before training; training stops once its minutes have passed since the job started (counting the
 * attempts before a resumed one), keeps the weights of its best epoch, and the card says so.
 * Stdout carries JSON progress lines and, at the end of a job, one EMF line (Powertools) with
 * `TrainingSeconds` and `TrainingEpochs`: the job's log stream in CloudWatch Logs (Batch's awslogs driver,
 * SageMaker's TrainingJobs log group) turns it into metrics, as Lambda's does, and `npm start` reads it.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import {
  deletePrefix,
  getBytes,
  getBytesIfExists,
  getJson,
  putBytes,
  putJson,
} from '../../aws/object-store.ts';
import { saveModelFiles } from '../../aws/tfjs-models.ts';
import type { TrainingProgress } from '../../core/api-types.ts';
import { overBudgetMessage, TrainingBudgetError } from '../../core/budget.ts';
import { type CheckpointsKept, type KeptCheckpoint, keepCheckpoints } from '../../core/checkpoints.ts';
import { ENV, METRICS, SAGEMAKER_JOB_HYPERPARAMETER } from '../../core/contract.ts';
import { ConfigurationError } from '../../core/errors.ts';
import type { ModelHyperparameters } from '../../core/hyperparameters.ts';
import { ARTIFACTS, CHECKPOINT_LATEST, KEYS } from '../../core/keys.ts';
import { buildAlexNet, buildCnn, buildMlp, ModelSpecError } from '../../core/model-builders.ts';
import { type LabelledData, splitData } from '../../core/model-data.ts';
import {
  captureTrainingState,
  decodeModelWeights,
  restoreTrainingState,
  serializeModel,
  type TrainingState,
} from '../../core/model-files.ts';
import type { Lineage } from '../../core/model-registry.ts';
import { trainModel } from '../../core/model-training.ts';
import type {
  BudgetStop,
  EpochLog,
  ProcessedSplit,
  TrainingCard,
  TrainingJobSpec,
} from '../../core/pipeline.ts';
import {
  backendThreads,
  libraryVersions,
  replicasSetting,
  selectBackend,
  wasmThreadsSetting,
} from '../../core/tfjs.ts';
import { type WarmStart, weightShapeMismatch } from '../../core/warm-start.ts';
import { crossValidate } from './cross-validation.ts';

/** Version of this code, recorded in each model card. */
const CODE_VERSION = process.env.NIMBUS_CODE_VERSION ?? '0.1.0';

interface JobSource {
  readonly contract: 'batch' | 'sagemaker';
  readonly spec: TrainingJobSpec;
  /** SageMaker's `/opt/ml`, when running under that contract. */
  readonly sageMakerRoot?: string;
}

/** SageMaker's `/opt/ml` when this process runs under the SageMaker contract (no Batch job spec in env). */
export function sageMakerRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[ENV.trainingJob]) return undefined;
  const root = env[ENV.sageMakerRoot] ?? '/opt/ml';
  return existsSync(join(root, 'input', 'config', 'hyperparameters.json')) ? root : undefined;
}

export function readJob(env: NodeJS.ProcessEnv = process.env): JobSource {
  const inline = env[ENV.trainingJob];
  if (inline) return { contract: 'batch', spec: parseSpec(inline, ENV.trainingJob) };
  const root = sageMakerRoot(env);
  const hyperparameters = join(
    root ?? env[ENV.sageMakerRoot] ?? '/opt/ml',
    'input',
    'config',
    'hyperparameters.json',
  );
  if (root) {
    const values = JSON.parse(readFileSync(hyperparameters, 'utf8')) as Record<string, string>;
    const spec = values[SAGEMAKER_JOB_HYPERPARAMETER];
    if (!spec)
      throw new ConfigurationError(
        `${hyperparameters} has no "${SAGEMAKER_JOB_HYPERPARAMETER}" hyperparameter`,
      );
    return {
      contract: 'sagemaker',
      spec: parseSpec(spec, SAGEMAKER_JOB_HYPERPARAMETER),
      sageMakerRoot: root,
    };
  }
  throw new ConfigurationError(
    `no training job: set ${ENV.trainingJob} (Batch) or provide ${hyperparameters} (SageMaker)`,
  );
}

function parseSpec(text: string, source: string): TrainingJobSpec {
  try {
    return JSON.parse(text) as TrainingJobSpec;
  } catch (error) {
    throw new ConfigurationError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
}

function progress(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

export async function train(job: JobSource): Promise<void> {
  const { spec } = job;
  const started = Date.now();
  // Both cores (or all): the wasm backend's threads, or data-parallel replicas each on one thread.
  const asked = replicasSetting(process.env[ENV.tfReplicas]);
  const wasmThreads =
    asked > 1 && !process.env[ENV.tfThreads]
      ? 1
      : wasmThreadsSetting(process.env[ENV.tfThreads], availableParallelism());
  const backend = await selectBackend(process.env[ENV.tfBackend], { wasmThreads });
  const replicas = backend === 'wasm' ? asked : 1;
  const threads = backendThreads();
  progress('started', { runId: spec.runId, contract: job.contract, backend, threads, replicas });

  const [[train, source, trainData], [, , validationData]] = await Promise.all([
    readSplit(job, 'train', spec.trainKey),
    readSplit(job, 'validation', spec.validationKey),
  ]);
  const hp = spec.hyperparameters;
  const { budget } = spec;
  const model = buildModel(train, hp);
  // Planning counted the parameters already; this is the count of the model itself.
  const parameters = model.countParams();
  if (parameters > budget.parameters) {
    model.dispose();
    throw new TrainingBudgetError(overBudgetMessage(parameters, budget.parameters, 'the model'));
  }

  const checkpoint = spec.checkpointPrefix
    ? await loadCheckpoint(spec.bucket, spec.checkpointPrefix)
    : undefined;
  // A resumed job's checkpoint already began from the parent's weights (when they fit): it is not loaded again.
  const warmStart = spec.warmStart && (await warmStartFrom(spec.bucket, spec.warmStart, model, !checkpoint));
  if (warmStart) progress('warmStart', { runId: spec.runId, ...warmStart });
  if (checkpoint) {
    await restoreTrainingState(model, checkpoint.state);
    progress('resumed', { runId: spec.runId, epoch: checkpoint.latest.epoch, epochs: hp.epochs });
  }
  // The budget's clock: this attempt from its start, plus what the attempts before it spent (to their
  // last checkpoint).
  const spentBefore = checkpoint?.latest.seconds ?? 0;
  const spent = () => spentBefore + (Date.now() - started) / 1000;
  const deadline = started + (budget.minutes * 60 - spentBefore) * 1000;
  const checkpoints = new CheckpointWriter(spec.bucket, spec.checkpointPrefix, spent);
  if (checkpoint) checkpoints.resumedFrom(checkpoint.latest);
  // The best epoch the checkpoints kept, when it is not the one resumed from: early stopping may end on it.
  const kept = checkpoint?.latest.best;
  const best =
    checkpoint && kept && kept.folder !== checkpoint.latest.folder
      ? await loadBestWeights(spec.bucket, kept, checkpoint.latest.history)
      : undefined;
  const progressKey = KEYS.trainingProgress(spec.model, spec.runId, spec.trial ?? 0);
  const writeProgress = (history: readonly EpochLog[], done: boolean) => {
    const written: TrainingProgress = {
      runId: spec.runId,
      trial: spec.trial ?? 0,
      epoch: history.length,
      epochs: hp.epochs,
      done,
      history,
      updatedAt: new Date().toISOString(),
    };
    return putJson(spec.bucket, progressKey, written);
  };
  // Cross-validation first (k models, each with its share of the budget's time left), then the model served,
  // refitted on the whole training split.
  const cv = spec.crossValidation;
  const crossValidation =
    cv &&
    (await crossValidate(
      {
        ...cv,
        bucket: spec.bucket,
        ...(spec.checkpointPrefix ? { progressKey: `${spec.checkpointPrefix}cross-validation.json` } : {}),
        classes: train.classes,
        hyperparameters: hp,
        build: () => buildModel(train, hp),
        deadline: (fold) => {
          const now = Date.now();
          return now + Math.max(0, deadline - now) / (cv.folds + 1 - fold);
        },
        onFold: (fold, figures) => progress('fold', { runId: spec.runId, fold, of: cv.folds, ...figures }),
      },
      trainData,
      validationData,
    ));
  let progressWritten = 0;
  const result = await trainModel(model, trainData, validationData, hp, {
    history: checkpoint?.latest.history ?? [],
    deadline,
    replicas,
    ...(best ? { best } : {}),
    onEpoch: async (log, history) => {
      // The learning curve so far, for `nimbus runs watch` and the dashboard: at most about once a second.
      if (Date.now() - progressWritten >= 1000) {
        progressWritten = Date.now();
        await writeProgress(history, false);
      }
      await checkpoints.epochEnded(model, history);
      if (log.epoch % 10 === 0 || log.epoch === hp.epochs || hp.epochs <= 30)
        progress('epoch', { runId: spec.runId, ...log, epochs: hp.epochs });
    },
  });
  const { history } = result;
  const seconds = (Date.now() - started) / 1000;
  // The epoch whose weights the model has: the best one under early stopping or a budget stop, else the last.
  const final = history[result.bestEpoch - 1];
  const trainedEpochs = history.length - (checkpoint?.latest.epoch ?? 0);
  const stoppedOnBudget: BudgetStop | undefined = result.stoppedOnBudget && {
    minutes: budget.minutes,
    bestEpoch: result.stoppedOnBudget.bestEpoch,
    ...(final?.validationLoss === undefined ? {} : { bestValidationLoss: final.validationLoss }),
  };
  if (stoppedOnBudget) {
    progress('budget', { runId: spec.runId, ...stoppedOnBudget, epochs: history.length, of: hp.epochs });
  }

  const lineage: Lineage = {
    ...spec.lineage,
    runId: spec.runId,
    hyperparameters: { ...hp },
    ...(warmStart && 'version' in warmStart ? { parentVersion: warmStart.version } : {}),
    backend,
    libraries: { ...libraryVersions(), replicas: String(replicas) },
    codeVersion: CODE_VERSION,
  };
  const card: TrainingCard = {
    model: spec.model,
    runId: spec.runId,
    lineage,
    contract: job.contract,
    training: {
      seconds,
      samples: trainData.labels.length,
      data: source,
      epochs: history.length,
      samplesPerSecond: (trainData.labels.length * trainedEpochs) / seconds,
      final,
      bestEpoch: result.bestEpoch,
      ...(checkpoint ? { resumedFromEpoch: checkpoint.latest.epoch } : {}),
      ...(result.stoppedEarly ? { stoppedEarly: result.stoppedEarly } : {}),
      ...(stoppedOnBudget ? { stoppedOnBudget } : {}),
      ...(warmStart ? { warmStart } : {}),
    },
    history,
    ...(crossValidation ? { crossValidation } : {}),
  };
  await saveModelFiles(spec.bucket, spec.modelPrefix, model);
  await putJson(spec.bucket, spec.modelPrefix + ARTIFACTS.card, card);
  await writeProgress(history, true);
  await checkpoints.finished();
  if (job.sageMakerRoot) {
    const dir = join(job.sageMakerRoot, 'model');
    mkdirSync(dir, { recursive: true });
    const files = await serializeModel(model, ARTIFACTS.weights);
    writeFileSync(join(dir, ARTIFACTS.modelJson), JSON.stringify(files.modelJson));
    writeFileSync(join(dir, ARTIFACTS.weights), files.weights);
    writeFileSync(join(dir, ARTIFACTS.card), JSON.stringify(card));
  }
  // One EMF line per job (each trial of a search is a job): what training costs, per model.
  publishModelMetrics(createMetrics(), spec.model, [
    [METRICS.trainingSeconds, MetricUnit.Seconds, seconds],
    [METRICS.trainingEpochs, MetricUnit.Count, history.length],
  ]);
  progress('finished', {
    runId: spec.runId,
    seconds,
    accuracy: final?.accuracy,
    validationAccuracy: final?.validationAccuracy,
  });
}

/**
 * A processed split: from its SageMaker channel (`/opt/ml/input/data/<channel>/`, which SageMaker filled from
 * S3 before the container started), else from S3.
 */
async function readSplit(
  job: JobSource,
  channel: 'train' | 'validation',
  key: string,
): Promise<[ProcessedSplit, 'channel' | 's3', LabelledData]> {
  if (job.sageMakerRoot) {
    const dir = join(job.sageMakerRoot, 'input', 'data', channel);
    const file = join(dir, basename(key));
    if (existsSync(file)) {
      const split = JSON.parse(readFileSync(file, 'utf8')) as ProcessedSplit;
      const data = await splitData(split, async (shard) => readFileSync(join(dir, basename(shard))));
      return [split, 'channel', data];
    }
  }
  const split = await getJson<ProcessedSplit>(job.spec.bucket, key);
  return [split, 's3', await splitData(split, (shard) => getBytes(job.spec.bucket, shard))];
}

/** `latest.json` of a checkpoint folder: written last, so it only ever names a complete epoch folder. */
interface LatestCheckpoint {
  readonly epoch: number;
  readonly folder: string;
  readonly history: EpochLog[];
  readonly savedAt: string;
  /** Seconds of the job's budget spent when it was saved, by this attempt and those before it. */
  readonly seconds?: number;
  /** The checkpoint of the lowest validation loss so far, kept beside the latest (core/checkpoints.ts). */
  readonly best?: KeptCheckpoint;
}

/**
 * Checkpoints after every epoch — except while epochs are so short that checkpointing would take more than
 * about a tenth of the time: then after the first epoch that ends at least ten checkpoint-durations after the
 * last one. (Uploads cannot run in the background: training keeps the event loop busy until it yields.)
 */
class CheckpointWriter {
  private lastEnded = 0;
  private lastCost = 0;
  private kept: CheckpointsKept = {};

  constructor(
    private readonly bucket: string,
    private readonly prefix: string | undefined,
    /** Seconds of the budget spent so far (recorded with each checkpoint, for a resumed attempt). */
    private readonly spent: () => number,
  ) {}

  async epochEnded(model: tf.LayersModel, history: readonly EpochLog[]): Promise<void> {
    if (!this.prefix) return;
    const now = performance.now();
    if (this.lastEnded > 0 && now - this.lastEnded < 10 * this.lastCost) return;
    const seconds = this.spent();
    const epoch = history.length;
    const saved = {
      epoch,
      folder: checkpointFolder(this.prefix, epoch),
      ...(history[epoch - 1]?.validationLoss === undefined
        ? {}
        : { validationLoss: history[epoch - 1]?.validationLoss }),
    };
    // The newest checkpoint is what a retried job resumes from, the best what early stopping may end on: every
    // other goes once `latest.json` names these (a model of 10 M parameters is 120 MB a checkpoint).
    const { kept, discard: stale } = keepCheckpoints(this.kept, saved);
    await saveCheckpoint(
      this.bucket,
      this.prefix,
      await captureTrainingState(model),
      history,
      seconds,
      kept.best,
    );
    for (const folder of stale) await discard(this.bucket, folder);
    this.kept = kept;
    this.lastEnded = performance.now();
    this.lastCost = this.lastEnded - now;
  }

  /** The checkpoint a resumed job started from (and the best it kept): the next ones saved replace them. */
  resumedFrom(latest: LatestCheckpoint): void {
    const loss = latest.history[latest.epoch - 1]?.validationLoss;
    this.kept = {
      latest: {
        epoch: latest.epoch,
        folder: latest.folder,
        ...(loss === undefined ? {} : { validationLoss: loss }),
      },
      ...(latest.best ? { best: latest.best } : {}),
    };
  }

  /** Once the model is saved, no checkpoint of the job is needed any more. */
  async finished(): Promise<void> {
    if (this.prefix) await discard(this.bucket, this.prefix);
  }
}

/** Deletes checkpoint objects; a failure to is logged, never the job's failure. */
async function discard(bucket: string, prefix: string): Promise<void> {
  await deletePrefix(bucket, prefix).catch((error: unknown) =>
    process.stderr.write(`could not delete old checkpoints under ${prefix}: ${(error as Error).message}\n`),
  );
}

/**
 * Saves the model and optimizer state after an epoch into its own folder (`epoch-000003/`), then points
 * `latest.json` at it: a process killed mid-write leaves the previous checkpoint intact.
 */
async function saveCheckpoint(
  bucket: string,
  prefix: string,
  state: TrainingState,
  history: readonly EpochLog[],
  seconds: number,
  best: KeptCheckpoint | undefined,
): Promise<string> {
  const epoch = history.length;
  const folder = checkpointFolder(prefix, epoch);
  await Promise.all([
    putJson(bucket, folder + ARTIFACTS.modelJson, state.weights.modelJson),
    putBytes(bucket, folder + ARTIFACTS.weights, state.weights.weights, 'application/octet-stream'),
    putJson(bucket, `${folder}optimizer.json`, state.optimizer.specs),
    putBytes(bucket, `${folder}optimizer.bin`, state.optimizer.data, 'application/octet-stream'),
  ]);
  const latest: LatestCheckpoint = {
    epoch,
    folder,
    history: [...history],
    savedAt: new Date().toISOString(),
    seconds,
    ...(best ? { best } : {}),
  };
  await putJson(bucket, prefix + CHECKPOINT_LATEST, latest);
  return folder;
}

const checkpointFolder = (prefix: string, epoch: number): string =>
  `${prefix}epoch-${String(epoch).padStart(6, '0')}/`;

/** The weights of the best checkpoint a resumed job's checkpoints kept, with its epoch's log. */
async function loadBestWeights(
  bucket: string,
  best: KeptCheckpoint,
  history: readonly EpochLog[],
): Promise<{ log: EpochLog; weights: tf.Tensor[] } | undefined> {
  const log = history[best.epoch - 1];
  if (!log) return undefined;
  const [modelJson, weights] = await Promise.all([
    getJson<Record<string, unknown>>(bucket, best.folder + ARTIFACTS.modelJson),
    getBytes(bucket, best.folder + ARTIFACTS.weights),
  ]);
  return { log, weights: decodeModelWeights({ modelJson, weights }) };
}

async function loadCheckpoint(
  bucket: string,
  prefix: string,
): Promise<{ latest: LatestCheckpoint; state: TrainingState } | undefined> {
  const bytes = await getBytesIfExists(bucket, prefix + CHECKPOINT_LATEST);
  if (!bytes) return undefined;
  const latest = JSON.parse(new TextDecoder().decode(bytes)) as LatestCheckpoint;
  const [modelJson, weights, specs, data] = await Promise.all([
    getJson<Record<string, unknown>>(bucket, latest.folder + ARTIFACTS.modelJson),
    getBytes(bucket, latest.folder + ARTIFACTS.weights),
    getJson<tf.io.WeightsManifestEntry[]>(bucket, `${latest.folder}optimizer.json`),
    getBytes(bucket, `${latest.folder}optimizer.bin`),
  ]);
  return { latest, state: { weights: { modelJson, weights }, optimizer: { specs, data } } };
}

/**
 * The warm start the job spec asks for: the parent version's weights put into `model` (when `load`) if their
 * shapes fit it — a search trial of another size does not fit — else why it trains from its initializers.
 */
async function warmStartFrom(
  bucket: string,
  warm: WarmStart,
  model: tf.LayersModel,
  load: boolean,
): Promise<NonNullable<TrainingCard['training']['warmStart']>> {
  if (!warm.from) return { skipped: warm.skipped ?? 'no version to start from' };
  const { version, runId, folder } = warm.from;
  const [modelJson, bytes] = await Promise.all([
    getJson<Record<string, unknown>>(bucket, folder + ARTIFACTS.modelJson),
    getBytes(bucket, folder + ARTIFACTS.weights),
  ]);
  const weights = decodeModelWeights({ modelJson, weights: bytes });
  try {
    const mismatch = weightShapeMismatch(
      weights.map((w) => w.shape),
      model.getWeights().map((w) => w.shape),
    );
    if (mismatch) return { skipped: `version ${version} does not fit: ${mismatch}` };
    if (load) model.setWeights(weights);
    return { version, runId };
  } finally {
    for (const w of weights) w.dispose();
  }
}

/** The network the hyperparameters name, sized to the data: an MLP over feature rows, a CNN over images. */
function buildModel(train: ProcessedSplit, hp: ModelHyperparameters): tf.LayersModel {
  if (hp.architecture === 'cnn' || hp.architecture === 'alexnet') {
    if (!('image' in train)) throw new ModelSpecError('a CNN trains on images; this dataset is tabular');
    const { height, width, channels } = train.image;
    return hp.architecture === 'cnn'
      ? buildCnn([height, width, channels], train.classes.length, hp)
      : buildAlexNet([height, width, channels], train.classes.length, hp);
  }
  if ('image' in train) throw new ModelSpecError('an MLP trains on feature rows; use a CNN for images');
  const task = train.task ?? 'classification';
  const width = 'shards' in train ? train.width : (train.features[0]?.length ?? 0);
  return buildMlp(width, train.classes.length, hp, task);
}

/** Runs the job the environment describes; sets a non-zero exit code on failure. */
export async function main(): Promise<void> {
  try {
    await train(readJob());
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const root = sageMakerRoot();
    if (root) {
      const dir = join(root, 'output');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'failure'), reason);
    }
    process.stderr.write(`${reason}\n`);
    process.exitCode = 1;
  }
}
