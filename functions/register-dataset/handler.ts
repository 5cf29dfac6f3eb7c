/**
 * RegisterDataset: refuses a dataset name outside the rule (core/names.ts NAME_PATTERN) before anything
 * else, records a content-addressed dataset version (the same content delivered twice starts one run, unless
 * every run on it has failed), opens the run, then validates the dataset: a CSV (schema inferred), a zip of class folders, or — on
 * its `_SUCCESS` marker — a folder of class folders of images, whose exact file list is written as the
 * version's index (`versions/<name>/<version>.json`).
 * Input: PipelineState (runId, bucket, key). Output: RegisterDatasetResult. Error: DatasetValidationError.
 */

import {
  addRunToVersion,
  claimDatasetVersion,
  listDatasetVersions,
  setDatasetOutcome,
} from '../../aws/dataset-versions.ts';
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { getBytes, getBytesIfExists, getStream, listObjects, putJson } from '../../aws/object-store.ts';
import { createRun, getRun } from '../../aws/runs.ts';
import type { DatasetVersionRecord } from '../../core/api-types.ts';
import { METRICS } from '../../core/contract.ts';
import { contentHash, type DatasetManifest, runsOfVersion } from '../../core/dataset.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import {
  folderHash,
  folderImageItems,
  type ImageDatasetIndex,
  type ImageItem,
  imageDatasetSchema,
  zipImageItems,
} from '../../core/image-dataset.ts';
import { datasetTrigger, KEYS } from '../../core/keys.ts';
import { manifestObjectCap, zipObjectCap } from '../../core/limits.ts';
import { parseManifest } from '../../core/manifest.ts';
import { nameProblem } from '../../core/names.ts';
import type { PipelineState, RegisterDatasetResult } from '../../core/pipeline.ts';
import type { TableFormat } from '../../core/table-reader.ts';
import { validationError } from '../../core/validation/report.ts';
import { type StreamValidation, validateStream } from '../../core/validation/validate.ts';
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
  // The name rule, before anything is read or written: MarkFailed records the refusal as the run's reason.
  const problem = nameProblem('dataset', name, (valid) => `datasets/${valid}/${file}`);
  if (problem) throw new DatasetValidationError(problem);

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
  const expected = state.retrain?.version;
  if (expected !== undefined && expected !== version) {
    throw new DatasetValidationError(
      `${state.key} holds other bytes than when run ${state.retrain?.retryOf ?? '?'} read it (version ${expected}, now ${version}): a retry trains on the same version; the new bytes start a run of their own when uploaded`,
    );
  }
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
  if (!claim.created) {
    const skip = await runAgain(claim.existing, state);
    if (skip) return { skip: true, reason: skip, name };
  }
  await createRun({
    runId: state.runId,
    dataset: name,
    datasetVersion: version,
    datasetKey: state.key,
    ...(state.startedAt ? { startedAt: state.startedAt } : {}),
    ...(state.retrain?.retryOf ? { retryOf: state.retrain.retryOf } : {}),
  });

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
    const images = items ?? (await zipImageItems(bytes as Uint8Array)).items;
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

/**
 * Bytes seen before under this name: a retraining run (an alarm action) always trains again on them; an
 * upload — or a retry — starts a new run only when every run on them has FAILED (the same bytes stay
 * idempotent against a run that is RUNNING or SUCCEEDED, and a run with no record yet is still starting), and
 * of two at once only one does. Returns why not, or undefined; a retry that cannot run fails, saying why (its
 * caller was told its run id).
 */
async function runAgain(existing: DatasetVersionRecord, state: PipelineState): Promise<string | undefined> {
  const at = `${existing.name}@${existing.version}`;
  if (state.retrain && !state.retrain.retryOf) {
    await addRunToVersion(existing, state.runId, false);
    logger.info('training again on a version seen before', { version: existing.version, ...state.retrain });
    return undefined;
  }
  const runIds = runsOfVersion(existing);
  const runs = await Promise.all(runIds.map((id) => getRun(id)));
  const live = runIds.findIndex((_, i) => runs[i]?.status !== 'FAILED');
  let skip: string | undefined;
  if (live >= 0) {
    const status = runs[live]?.status ?? 'starting';
    skip = `dataset ${at} was registered by run ${runIds[live]} (${status}): the same bytes start no new run`;
  } else if (!(await addRunToVersion(existing, state.runId, true))) {
    skip = `dataset ${at}: another upload of the same bytes started a run at the same time`;
  }
  if (skip && state.retrain?.retryOf) throw new DatasetValidationError(`nothing to retry: ${skip}`);
  if (skip) {
    logger.info('same content seen before: no new run', { version: existing.version, reason: skip });
    return skip;
  }
  logger.info('same content seen before, whose runs all failed: a new run', {
    version: existing.version,
    failedRuns: runIds,
    ...(state.retrain ? { retryOf: state.retrain.retryOf } : {}),
  });
  return undefined;
}

async function readManifest(bucket: string, name: string): Promise<DatasetManifest> {
  const bytes = await getBytesIfExists(bucket, KEYS.manifest(name), manifestObjectCap(KEYS.manifest(name)));
  if (!bytes) return {};
  try {
    return parseManifest(JSON.parse(new TextDecoder().decode(bytes)) as unknown);
  } catch (error) {
    throw new DatasetValidationError(
      `${KEYS.manifest(name)} is not a valid manifest: ${(error as Error).message}`,
    );
  }
}
