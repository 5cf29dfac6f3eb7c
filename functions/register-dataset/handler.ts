/**
 * RegisterDataset: records a content-addressed dataset version (the same content delivered twice starts one
 * run), opens the run, then validates the dataset: a CSV (schema inferred), a zip of class folders, or — on
 * its `_SUCCESS` marker — a folder of class folders of images, whose exact file list is written as the
 * version's index (`versions/<name>/<version>.json`).
 * Input: PipelineState (runId, bucket, key). Output: RegisterDatasetResult. Error: DatasetValidationError.
 */
import { getBytes, getBytesIfExists, listObjects, putJson } from '../../aws/object-store.ts';
import { claimDatasetVersion, createRun, setDatasetOutcome } from '../../aws/registry.ts';
import { datasetTrigger, KEYS, NAME_PATTERN } from '../../core/contract.ts';
import { chooseLabel, contentHash, type DatasetManifest, inferSchema, parseCsv } from '../../core/dataset.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import {
  folderHash,
  folderImageItems,
  type ImageDatasetIndex,
  type ImageItem,
  imageDatasetSchema,
  parseImageSpec,
  zipImageItems,
} from '../../core/image-dataset.ts';
import type { PipelineState, RegisterDatasetResult } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('register-dataset');

export async function handler(state: PipelineState): Promise<RegisterDatasetResult> {
  logger.appendKeys({ runId: state.runId, key: state.key });
  const location = KEYS.parseDatasetKey(state.key);
  if (!location) {
    return { skip: true, reason: `${state.key} is not under datasets/<name>/`, name: '' };
  }
  const { dataset: name, file } = location;
  const trigger = datasetTrigger(file);
  if (!trigger) {
    return {
      skip: true,
      reason: `${file} does not start a run (a .csv, a .zip or the ${KEYS.successMarker} marker does)`,
      name,
    };
  }
  if (!NAME_PATTERN.test(name)) {
    throw new DatasetValidationError(
      `dataset name "${name}" must be lowercase letters, digits, "-" or "_" (at most 63), starting with a letter or digit`,
    );
  }

  let bytes: Uint8Array | undefined;
  let items: ImageItem[] | undefined;
  let strays: string[] = [];
  let hash: string;
  let size: number;
  if (trigger === 'folder') {
    const listing = await listObjects(state.bucket, KEYS.datasetPrefix(name));
    ({ items, strays } = folderImageItems(KEYS.datasetPrefix(name), listing));
    hash = folderHash(items);
    size = items.length;
  } else {
    bytes = await getBytes(state.bucket, state.key);
    hash = contentHash(bytes);
    size = bytes.byteLength;
  }
  const version = hash.slice(0, 16);
  const claim = await claimDatasetVersion({
    name,
    version,
    hash,
    key: state.key,
    size,
    firstRunId: state.runId,
  });
  if (!claim.created) {
    logger.info('same content seen before: no new run', { version, firstRunId: claim.existing.firstRunId });
    return {
      skip: true,
      reason: `dataset ${name}@${version} was registered by run ${claim.existing.firstRunId}`,
      name,
    };
  }
  await createRun({ runId: state.runId, dataset: name, datasetVersion: version, datasetKey: state.key });

  try {
    const manifest = await readManifest(state.bucket, name);
    if (trigger === 'csv') {
      const table = parseCsv(bytes as Uint8Array);
      const schema = inferSchema(table, chooseLabel(table.header, manifest), manifest.task);
      await setDatasetOutcome(name, version, { status: 'REGISTERED', schema });
      logger.info('dataset registered', { version, rows: schema.rowCount, label: schema.label });
      return { skip: false, name, version, hash, key: state.key, schema, manifest };
    }
    const format = trigger === 'zip' ? 'zip' : 'folder';
    const images = items ?? zipImageItems(bytes as Uint8Array).items;
    const schema = imageDatasetSchema(format, images, strays);
    const index: ImageDatasetIndex = {
      kind: 'image',
      format,
      ...(format === 'zip' ? { key: state.key } : {}),
      items: images,
    };
    const indexKey = KEYS.datasetVersionIndex(name, version);
    await putJson(state.bucket, indexKey, index);
    await setDatasetOutcome(name, version, { status: 'REGISTERED', schema });
    logger.info('image dataset registered', { version, images: schema.imageCount, classes: schema.classes });
    return { skip: false, name, version, hash, key: state.key, schema, indexKey, manifest };
  } catch (error) {
    if (error instanceof DatasetValidationError) {
      await setDatasetOutcome(name, version, { status: 'INVALID', reason: error.message });
      logger.warn('dataset rejected', { version, findings: error.findings });
    }
    throw error;
  }
}

const MANIFEST_FIELDS = ['label', 'task', 'image', 'hyperparameters', 'search'];

async function readManifest(bucket: string, name: string): Promise<DatasetManifest> {
  const bytes = await getBytesIfExists(bucket, KEYS.manifest(name));
  if (!bytes) return {};
  try {
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
      throw new Error('not an object');
    const unknown = Object.keys(manifest).filter((key) => !MANIFEST_FIELDS.includes(key));
    if (unknown.length > 0) {
      throw new Error(`unknown field(s) ${unknown.join(', ')}; a manifest has ${MANIFEST_FIELDS.join(', ')}`);
    }
    const { label, task, image, hyperparameters, search } = manifest as Record<string, unknown>;
    if (label !== undefined && typeof label !== 'string') throw new Error('"label" must be a string');
    if (task !== undefined && task !== 'classification' && task !== 'regression')
      throw new Error('"task" must be "classification" or "regression"');
    if (hyperparameters !== undefined && (typeof hyperparameters !== 'object' || hyperparameters === null))
      throw new Error('"hyperparameters" must be an object');
    return {
      ...(label === undefined ? {} : { label }),
      ...(task === undefined ? {} : { task: task as 'classification' | 'regression' }),
      ...(image === undefined ? {} : { image: parseImageSpec(image) }),
      ...(hyperparameters === undefined
        ? {}
        : { hyperparameters: hyperparameters as Record<string, unknown> }),
      ...(search === undefined ? {} : { search }),
    };
  } catch (error) {
    throw new DatasetValidationError(
      `${KEYS.manifest(name)} is not a valid manifest: ${(error as Error).message}`,
    );
  }
}
