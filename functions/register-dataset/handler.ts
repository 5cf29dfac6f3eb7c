/**
 * RegisterDataset: records a content-addressed dataset version (the same content delivered twice starts one
 * run), opens the run, then validates the dataset: a CSV (schema inferred), a zip of class folders, or — on
 * its `_SUCCESS` marker — a folder of class folders of images, whose exact file list is written as the
 * version's index (`versions/<name>/<version>.json`).
 * Input: PipelineState (runId, bucket, key). Output: RegisterDatasetResult. Error: DatasetValidationError.
 */
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { getBytes, getBytesIfExists, getStream, listObjects, putJson } from '../../aws/object-store.ts';
import {
  claimDatasetVersion,
  createRun,
  listDatasetVersions,
  setDatasetOutcome,
} from '../../aws/registry.ts';
import { datasetTrigger, KEYS, METRICS, NAME_PATTERN } from '../../core/contract.ts';
import { contentHash, type DatasetManifest } from '../../core/dataset.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import {
  folderHash,
  folderImageItems,
  type ImageDatasetIndex,
  type ImageItem,
  imageDatasetSchema,
  zipImageItems,
} from '../../core/image-dataset.ts';
import { zipObjectCap } from '../../core/limits.ts';
import { parseManifest } from '../../core/manifest.ts';
import type { PipelineState, RegisterDatasetResult } from '../../core/pipeline.ts';
import {
  type StreamValidation,
  type TableFormat,
  validateStream,
  validationError,
} from '../../core/validation.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('register-dataset');
const metrics = createMetrics();

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
  // A table is read once, as it streams in: its hash, its report, its schema and statistics together.
  // A bad manifest is reported once the run exists.
  let validation: StreamValidation | undefined;
  const manifestRead = readManifest(state.bucket, name).then(
    (manifest) => ({ manifest }),
    (error: unknown) => ({ error, manifest: {} as DatasetManifest }),
  );
  if (trigger === 'csv' || trigger === 'jsonl') {
    validation = await validateStream(
      getStream(state.bucket, state.key),
      trigger,
      (await manifestRead).manifest,
    );
    hash = validation.hash;
    size = validation.bytes;
  } else if (trigger === 'folder') {
    const listing = await listObjects(state.bucket, KEYS.datasetPrefix(name));
    ({ items, strays } = folderImageItems(KEYS.datasetPrefix(name), listing));
    hash = folderHash(items);
    size = items.length;
  } else {
    bytes = await getBytes(state.bucket, state.key, zipObjectCap(state.key));
    hash = contentHash(bytes);
    size = bytes.byteLength;
  }
  const version = hash.slice(0, 16);
  const previous = (await listDatasetVersions(name)).filter((v) => v.version !== version).pop();
  const claim = await claimDatasetVersion({
    name,
    version,
    hash,
    key: state.key,
    size,
    firstRunId: state.runId,
    ...(previous ? { previousVersion: previous.version } : {}),
  });
  if (!claim.created && state.retrain) {
    logger.info('training again on a version seen before', { version, ...state.retrain });
  } else if (!claim.created) {
    logger.info('same content seen before: no new run', { version, firstRunId: claim.existing.firstRunId });
    return {
      skip: true,
      reason: `dataset ${name}@${version} was registered by run ${claim.existing.firstRunId}`,
      name,
    };
  }
  await createRun({ runId: state.runId, dataset: name, datasetVersion: version, datasetKey: state.key });

  let reportKey: string | undefined;
  try {
    const read = await manifestRead;
    if ('error' in read) throw read.error;
    const { manifest } = read;
    if (validation) {
      const { report, schema, baseline } = validation;
      reportKey = KEYS.datasetReport(name, version);
      await putJson(state.bucket, reportKey, report);
      if (!schema || !baseline) throw validationError(report, `s3://${state.bucket}/${reportKey}`);
      await putJson(state.bucket, KEYS.datasetBaseline(name, version), baseline);
      await setDatasetOutcome(name, version, { status: 'REGISTERED', schema, reportKey });
      publishModelMetrics(metrics, name, [[METRICS.datasetAccepted, MetricUnit.Count, 1]]);
      logger.info('dataset registered', {
        version,
        rows: schema.rowCount,
        label: schema.label,
        warnings: report.findings.filter((f) => f.severity === 'warning').map((f) => f.code),
      });
      return {
        skip: false,
        name,
        version,
        hash,
        key: state.key,
        format: trigger as TableFormat,
        schema,
        manifest,
      };
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
    publishModelMetrics(metrics, name, [[METRICS.datasetAccepted, MetricUnit.Count, 1]]);
    logger.info('image dataset registered', { version, images: schema.imageCount, classes: schema.classes });
    return { skip: false, name, version, hash, key: state.key, schema, indexKey, manifest };
  } catch (error) {
    if (error instanceof DatasetValidationError) {
      await setDatasetOutcome(name, version, {
        status: 'INVALID',
        reason: error.message,
        ...(reportKey ? { reportKey } : {}),
      });
      publishModelMetrics(metrics, name, [[METRICS.datasetAccepted, MetricUnit.Count, 0]]);
      logger.warn('dataset rejected', { version, findings: error.findings });
    }
    throw error;
  }
}

async function readManifest(bucket: string, name: string): Promise<DatasetManifest> {
  const bytes = await getBytesIfExists(bucket, KEYS.manifest(name));
  if (!bytes) return {};
  try {
    return parseManifest(JSON.parse(new TextDecoder().decode(bytes)) as unknown);
  } catch (error) {
    throw new DatasetValidationError(
      `${KEYS.manifest(name)} is not a valid manifest: ${(error as Error).message}`,
    );
  }
}
