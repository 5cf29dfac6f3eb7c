/**
 * RegisterDataset: reads the uploaded object, records a content-addressed dataset version (the same bytes
 * delivered twice start one run), opens the run, then validates the CSV and infers its schema.
 * Input: PipelineState (runId, bucket, key). Output: RegisterDatasetResult. Error: DatasetValidationError.
 */
import { getBytes, getBytesIfExists } from '../../aws/object-store.ts';
import { claimDatasetVersion, createRun, setDatasetOutcome } from '../../aws/registry.ts';
import { KEYS, NAME_PATTERN } from '../../core/contract.ts';
import { chooseLabel, contentHash, type DatasetManifest, inferSchema, parseCsv } from '../../core/dataset.ts';
import { DatasetValidationError } from '../../core/errors.ts';
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
  if (!file.toLowerCase().endsWith('.csv')) {
    return { skip: true, reason: `${file} is not a dataset file (.csv)`, name };
  }
  if (!NAME_PATTERN.test(name)) {
    throw new DatasetValidationError(
      `dataset name "${name}" must be lowercase letters, digits, "-" or "_" (at most 63), starting with a letter or digit`,
    );
  }

  const bytes = await getBytes(state.bucket, state.key);
  const hash = contentHash(bytes);
  const version = hash.slice(0, 16);
  const claim = await claimDatasetVersion({
    name,
    version,
    hash,
    key: state.key,
    size: bytes.byteLength,
    firstRunId: state.runId,
  });
  if (!claim.created) {
    logger.info('same bytes seen before: no new run', { version, firstRunId: claim.existing.firstRunId });
    return {
      skip: true,
      reason: `dataset ${name}@${version} was registered by run ${claim.existing.firstRunId}`,
      name,
    };
  }
  await createRun({ runId: state.runId, dataset: name, datasetVersion: version, datasetKey: state.key });

  try {
    const manifest = await readManifest(state.bucket, name);
    const table = parseCsv(bytes);
    const schema = inferSchema(table, chooseLabel(table.header, manifest));
    await setDatasetOutcome(name, version, { status: 'REGISTERED', schema });
    logger.info('dataset registered', { version, rows: schema.rowCount, label: schema.label });
    return { skip: false, name, version, hash, key: state.key, schema };
  } catch (error) {
    if (error instanceof DatasetValidationError) {
      await setDatasetOutcome(name, version, { status: 'INVALID', reason: error.message });
      logger.warn('dataset rejected', { version, findings: error.findings });
    }
    throw error;
  }
}

async function readManifest(bucket: string, name: string): Promise<DatasetManifest> {
  const bytes = await getBytesIfExists(bucket, KEYS.manifest(name));
  if (!bytes) return {};
  try {
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
      throw new Error('not an object');
    const label = (manifest as { label?: unknown }).label;
    if (label !== undefined && typeof label !== 'string') throw new Error('"label" must be a string');
    return label === undefined ? {} : { label };
  } catch (error) {
    throw new DatasetValidationError(
      `${KEYS.manifest(name)} is not a valid manifest: ${(error as Error).message}`,
    );
  }
}
