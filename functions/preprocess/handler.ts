/**
 * Preprocess: seeded stratified train/validation/test split, preprocessing fitted on the training split,
 * processed splits written for training and evaluation, and the serving files (`preprocessor.json`,
 * `schema.json`, `baseline.json`) written into the model folder. Tabular rows are standardized and one-hot
 * encoded; images are decoded and resized to one spec (core/image.ts), the very code predict runs.
 * The run's training budget (the platform's, ENV.trainingBudget, lowered by the manifest's `budget`) goes into
 * the job spec with the hard timeouts derived from it; a manifest budget above the platform's fails the run
 * here, before anything is read.
 * Input: PipelineState with `dataset`. Output: PreprocessResult (with the training job spec).
 */
import { bucketName } from '../../aws/config.ts';
import { currentAlias, getModelVersion } from '../../aws/model-registry.ts';
import {
  getBytes,
  getBytesIfExists,
  getJson,
  getStream,
  mapLimit,
  putBytes,
  putJson,
} from '../../aws/object-store.ts';
import { updateRun } from '../../aws/runs.ts';
import { type Baseline, imageBaseline } from '../../core/baseline.ts';
import {
  jobBudget,
  type ModelInput,
  parseTrainingBudget,
  runBudget,
  type TrainingBudget,
} from '../../core/budget.ts';
import { ENV, PRODUCTION_ALIAS } from '../../core/contract.ts';
import type { ImageSpec } from '../../core/dataset.ts';
import { ConfigurationError, DatasetValidationError } from '../../core/errors.ts';
import { defaultHyperparameters, withOverrides } from '../../core/hyperparameters.ts';
import { decodeImage, ImagePixelLimitError, probeImage } from '../../core/image.ts';
import {
  defaultImageSpec,
  type ImageDatasetIndex,
  type ImageItem,
  openZipImages,
} from '../../core/image-dataset.ts';
import { ARTIFACTS, type DataFile, KEYS } from '../../core/keys.ts';
import { checkDecodedImages, imageObjectCap, zipObjectCap } from '../../core/limits.ts';
import type {
  ImageSplit,
  PipelineState,
  PreprocessResult,
  RegisterDatasetResult,
} from '../../core/pipeline.ts';
import { type AnyPreprocessor, imagePreprocessor, imageSize } from '../../core/preprocessor.ts';
import { imageInputSchema, inputSchema } from '../../core/serving.ts';
import { DEFAULT_SPLIT, type Split, stratifiedSplit } from '../../core/split.ts';
import { preprocessStream } from '../../core/stream-preprocess.ts';
import {
  type WarmStart,
  type WarmStartSide,
  warmStartMismatch,
  warmStartRequested,
} from '../../core/warm-start.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('preprocess');
const artifactsBucket = bucketName('artifacts');
/** Seed of the split unless the manifest names one: fixed, so a dataset version always splits the same way. */
const SPLIT_SEED = 0;
/** Images fetched and decoded at once. */
const IMAGE_CONCURRENCY = 16;
const platformBudget = readPlatformBudget();

type RegisteredDataset = Exclude<RegisterDatasetResult, { skip: true }>;
type ImageDataset = Extract<RegisteredDataset, { indexKey: string }>;

export async function handler(state: PipelineState): Promise<PreprocessResult> {
  const dataset = state.dataset;
  if (!dataset || dataset.skip) throw new Error('Preprocess needs a registered dataset in $.dataset');
  logger.appendKeys({ runId: state.runId });
  await updateRun(state.runId, { step: 'Preprocess' });
  const hyperparameters = withOverrides(
    defaultHyperparameters(
      'indexKey' in dataset ? 'image' : 'tabular',
      dataset.manifest?.image?.architecture,
    ),
    dataset.manifest?.hyperparameters,
  );
  const budget = jobBudget(runBudget(platformBudget, dataset.manifest?.budget));
  const model = dataset.name;
  const modelPrefix = KEYS.modelPrefix(model, state.runId);
  const write = (file: DataFile, value: unknown) =>
    putJson(artifactsBucket, KEYS.data(model, state.runId, file), value);
  const { counts, modelInput, preprocessor } =
    'indexKey' in dataset
      ? await preprocessImages(state, dataset, modelPrefix, write)
      : await preprocessTable(state, dataset, modelPrefix, write);
  const preprocessing = dataset.manifest?.preprocessing;
  const requested = warmStartRequested(dataset.manifest?.hyperparameters, state.retrain !== undefined);
  const warmStart = requested
    ? await planWarmStart(model, requested, {
        preprocessor,
        hyperparameters: { ...hyperparameters },
        ...(preprocessing ? { preprocessing } : {}),
      })
    : undefined;
  return {
    modelPrefix,
    counts,
    modelInput,
    trainingJob: {
      runId: state.runId,
      trial: 0,
      model,
      bucket: artifactsBucket,
      trainKey: KEYS.data(model, state.runId, 'train.json'),
      validationKey: KEYS.data(model, state.runId, 'validation.json'),
      modelPrefix,
      hyperparameters,
      budget,
      checkpointPrefix: KEYS.checkpointPrefix(model, state.runId),
      lineage: {
        datasetName: dataset.name,
        datasetVersion: dataset.version,
        datasetHash: dataset.hash,
        datasetKey: dataset.key,
        ...(preprocessing ? { preprocessing } : {}),
      },
      ...(warmStart ? { warmStart } : {}),
      ...(dataset.manifest?.validation
        ? {
            crossValidation: {
              folds: dataset.manifest.validation.folds,
              seed: dataset.manifest.seed ?? SPLIT_SEED,
              preprocessorKey: modelPrefix + ARTIFACTS.preprocessor,
            },
          }
        : {}),
    },
  };
}

/**
 * The warm start of a run that asks for one: the version holding `production` when its weights fit this
 * run's model (core/warm-start.ts), else the reason it trains from its initializers (logged, and in the card).
 */
async function planWarmStart(
  model: string,
  requested: WarmStart['requested'],
  child: WarmStartSide,
): Promise<WarmStart> {
  const skip = (skipped: string): WarmStart => {
    logger.info('warm start skipped', { requested, reason: skipped });
    return { requested, skipped };
  };
  const alias = await currentAlias(model, PRODUCTION_ALIAS);
  const version = alias?.state.version;
  if (version === undefined) return skip(`no version of ${model} holds ${PRODUCTION_ALIAS}`);
  const parent = await getModelVersion(model, version);
  if (!parent) return skip(`version ${version} is not in the registry`);
  if (parent.lineage.ensemble) return skip(`version ${version} is an ensemble, not one set of weights`);
  const bytes = await getBytesIfExists(artifactsBucket, parent.artifactPrefix + ARTIFACTS.preprocessor);
  if (!bytes) return skip(`version ${version} has no ${ARTIFACTS.preprocessor}`);
  const mismatch = warmStartMismatch(
    {
      preprocessor: JSON.parse(new TextDecoder().decode(bytes)) as AnyPreprocessor,
      hyperparameters: parent.lineage.hyperparameters,
      ...(parent.lineage.preprocessing ? { preprocessing: parent.lineage.preprocessing } : {}),
    },
    child,
  );
  if (mismatch) return skip(`version ${version} does not fit: ${mismatch}`);
  logger.info('warm start', { requested, version });
  return { requested, from: { version, runId: parent.lineage.runId, folder: parent.artifactPrefix } };
}

type Counts = PreprocessResult['counts'];
type Write = (file: DataFile, value: unknown) => Promise<void>;
/** What preprocessing a dataset gives the rest of the run: split sizes, and what the model is built for. */
interface Preprocessed {
  readonly counts: Counts;
  readonly modelInput: ModelInput;
  /** What predict will run: compared with the production version's for a warm start. */
  readonly preprocessor: AnyPreprocessor;
}

/** The platform's budget, read once at cold start (a malformed one fails every run, naming the variable). */
function readPlatformBudget(): TrainingBudget {
  const raw = process.env[ENV.trainingBudget];
  try {
    return parseTrainingBudget(raw ? JSON.parse(raw) : undefined);
  } catch (error) {
    throw new ConfigurationError(
      `${ENV.trainingBudget} is not a training budget: ${(error as Error).message}`,
    );
  }
}

function countsOf<T>(split: Split<T>): Counts {
  return { train: split.train.length, validation: split.validation.length, test: split.test.length };
}

/**
 * Tables stream: three passes over the file (strata, split + fit, transform into shards), in memory bounded
 * by the table's width whatever its length (core/stream-preprocess.ts).
 */
async function preprocessTable(
  state: PipelineState,
  dataset: Exclude<RegisteredDataset, ImageDataset>,
  modelPrefix: string,
  write: Write,
): Promise<Preprocessed> {
  const { schema } = dataset;
  const versionBaseline = await getBytesIfExists(
    state.bucket,
    KEYS.datasetBaseline(dataset.name, dataset.version),
  );
  const datasetBaseline = versionBaseline
    ? (JSON.parse(new TextDecoder().decode(versionBaseline)) as Baseline)
    : undefined;
  const key = (file: DataFile) => KEYS.data(dataset.name, state.runId, file);
  const result = await preprocessStream({
    open: () => getStream(state.bucket, dataset.key),
    format: dataset.format,
    schema,
    ...(dataset.manifest ? { manifest: dataset.manifest } : {}),
    ...(datasetBaseline ? { datasetBaseline } : {}),
    splitKeys: { train: key('train.json'), validation: key('validation.json'), test: key('test.json') },
    put: (shard, bytes) => putBytes(artifactsBucket, shard, bytes, 'application/octet-stream'),
  });
  const pre = result.preprocessor;
  await Promise.all([
    write('train.json', result.splits.train),
    write('validation.json', result.splits.validation),
    write('test.json', result.splits.test),
    write('test-rows.json', result.testRows),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.preprocessor, pre),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.schema, inputSchema(schema, pre)),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.baseline, {
      ...result.trainBaseline,
      datasetVersion: dataset.version,
      ...(datasetBaseline ? { dataset: datasetBaseline } : {}),
    }),
  ]);
  logger.info('dataset preprocessed', { counts: result.counts, width: pre.width });
  return {
    counts: result.counts,
    preprocessor: pre,
    modelInput: { kind: 'features', width: pre.width, classes: schema.classes.length, task: schema.task },
  };
}

/**
 * Images: split the version's file list, decode every image to the spec (the manifest's, else the first
 * training image's size and colour), and write each split as one block of bytes. Undecodable files fail the
 * run with their names; a file past a cap of core/limits.ts fails it at once.
 */
async function preprocessImages(
  state: PipelineState,
  dataset: ImageDataset,
  modelPrefix: string,
  write: Write,
): Promise<Preprocessed> {
  const index = await getJson<ImageDatasetIndex>(state.bucket, dataset.indexKey);
  // A zip is inflated an image at a time, within the caps (core/limits.ts); a folder image is refused by its size
  // before its body is read.
  const zip =
    index.format === 'zip' && index.key
      ? await openZipImages(await getBytes(state.bucket, index.key, zipObjectCap(index.key)), index.key)
      : undefined;
  const read = async (item: ImageItem): Promise<Uint8Array> =>
    zip ? zip.read(item.source) : getBytes(state.bucket, item.source, imageObjectCap(item.source));
  const split = stratifiedSplit(
    index.items,
    (item) => item.label,
    dataset.manifest.split ?? DEFAULT_SPLIT,
    dataset.manifest.seed ?? SPLIT_SEED,
  );
  const first = split.train[0];
  if (!first) throw new DatasetValidationError('the training split has no images');
  // The size and colour every image is decoded to (its architecture is the model's, not the images').
  const asked = dataset.manifest.image;
  const spec: ImageSpec = asked
    ? { width: asked.width, height: asked.height, channels: asked.channels }
    : defaultImageSpec(
        await probeImage(await read(first)).catch((error: unknown) => {
          throw capError(first, error) ?? error;
        }),
      );
  const classes = dataset.schema.classes;
  // Every image is held decoded (and written as one base64 string per split): bounded before any is decoded.
  checkDecodedImages(index.items.length, imageSize(spec));

  const failures: string[] = [];
  let decoded = 0;
  const total = index.items.length;
  const decodeAll = (items: readonly ImageItem[]) =>
    mapLimit(items, IMAGE_CONCURRENCY, async (item) => {
      try {
        return await decodeImage(await read(item), spec);
      } catch (error) {
        const cap = capError(item, error);
        if (cap) throw cap;
        failures.push(`${item.source} (${(error as Error).message})`);
        return new Uint8Array();
      } finally {
        decoded++;
        if (decoded % 1000 === 0) logger.info('decoding images', { decoded, total });
      }
    });
  const train = await decodeAll(split.train);
  const validation = await decodeAll(split.validation);
  const test = await decodeAll(split.test);
  if (failures.length > 0) {
    throw new DatasetValidationError(
      `${failures.length} image(s) cannot be decoded: ${failures.slice(0, 10).join('; ')}`,
      failures,
    );
  }
  const labelIndex = new Map(classes.map((c, i) => [c, i]));
  const pack = (items: readonly ImageItem[], images: readonly Uint8Array[]): ImageSplit => ({
    classes,
    image: spec,
    pixels: Buffer.concat(images).toString('base64'),
    labels: items.map((item) => labelIndex.get(item.label) ?? -1),
  });
  const pre = imagePreprocessor(classes, spec);
  await Promise.all([
    write('train.json', pack(split.train, train)),
    write('validation.json', pack(split.validation, validation)),
    write('test.json', pack(split.test, test)),
    write('test-rows.json', split.test),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.preprocessor, pre),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.schema, imageInputSchema(pre)),
    putJson(
      artifactsBucket,
      modelPrefix + ARTIFACTS.baseline,
      imageBaseline(
        train,
        split.train.map((item) => item.label),
      ),
    ),
  ]);
  const counts = countsOf(split);
  logger.info('images preprocessed', { counts, image: spec });
  const { height, width, channels } = spec;
  return {
    counts,
    modelInput: { kind: 'image', height, width, channels, classes: classes.length },
    preprocessor: pre,
  };
}

/**
 * A cap (core/limits.ts) ends the run at once, naming the image: a file or zip entry too large, or an image over
 * the pixel cap. Undefined for any other error (an undecodable image is one finding among the others).
 */
function capError(item: ImageItem, error: unknown): DatasetValidationError | undefined {
  if (error instanceof DatasetValidationError) return error;
  if (error instanceof ImagePixelLimitError) {
    return new DatasetValidationError(`image "${item.source}" is ${error.message}`);
  }
  return undefined;
}
