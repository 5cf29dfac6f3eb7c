/**
 * The dataset versions table: one item per version of a dataset (`name` + `version`, a prefix of the content
 * hash), claimed once per bytes, with the runs that trained on it and the outcome of its validation.
 */
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DatasetSummary, DatasetVersionRecord } from '../core/api-types.ts';
import { type DatasetSchema, rowsOfVersion, runsOfVersion } from '../core/dataset.ts';
import { ConflictError } from '../core/errors.ts';
import type { ImageDatasetSchema } from '../core/image-dataset.ts';
import { tableName } from './config.ts';
import { db, EPOCH, isConditionFailure, text, updateFields } from './dynamo.ts';

/**
 * Records a dataset version unless its bytes were seen before under this name.
 * Returns the existing record when they were (and writes nothing).
 */
export async function claimDatasetVersion(
  record: Omit<DatasetVersionRecord, 'status' | 'createdAt' | 'runIds'>,
): Promise<{ created: true } | { created: false; existing: DatasetVersionRecord }> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName('datasets'),
        Item: {
          ...record,
          runIds: [record.firstRunId],
          status: 'REGISTERED',
          createdAt: new Date().toISOString(),
        },
        ConditionExpression: 'attribute_not_exists(#name)',
        ExpressionAttributeNames: { '#name': 'name' },
      }),
    );
    return { created: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const existing = await getDatasetVersion(record.name, record.version);
    if (!existing)
      throw new ConflictError(`dataset ${record.name}@${record.version} vanished while being claimed`);
    return { created: false, existing };
  }
}

/**
 * Adds a run to a version's runs. `exclusive`: only while the runs the caller read are still all of them —
 * so of two uploads of the same bytes at once, one starts a run; returns whether it was added.
 */
export async function addRunToVersion(
  record: Pick<DatasetVersionRecord, 'name' | 'version' | 'runIds' | 'firstRunId'>,
  runId: string,
  exclusive: boolean,
): Promise<boolean> {
  const known = runsOfVersion(record);
  const guard = exclusive
    ? record.runIds
      ? {
          ConditionExpression: 'size(#runIds) = :count',
          ExpressionAttributeValues: { ':count': known.length },
        }
      : { ConditionExpression: 'attribute_not_exists(#runIds)', ExpressionAttributeValues: {} }
    : { ExpressionAttributeValues: {} };
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName('datasets'),
        Key: { name: record.name, version: record.version },
        UpdateExpression: 'SET #runIds = list_append(if_not_exists(#runIds, :known), :run)',
        ExpressionAttributeNames: { '#runIds': 'runIds' },
        ...guard,
        ExpressionAttributeValues: {
          ':known': [...known],
          ':run': [runId],
          ...guard.ExpressionAttributeValues,
        },
      }),
    );
    return true;
  } catch (error) {
    if (exclusive && isConditionFailure(error)) return false;
    throw error;
  }
}

export async function getDatasetVersion(
  name: string,
  version: string,
): Promise<DatasetVersionRecord | undefined> {
  const out = await db().send(new GetCommand({ TableName: tableName('datasets'), Key: { name, version } }));
  return out.Item ? datasetVersionRecord(out.Item) : undefined;
}

/** Every version of a dataset (all pages), oldest first. */
export async function listDatasetVersions(name: string): Promise<DatasetVersionRecord[]> {
  const items: DatasetVersionRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName('datasets'),
        KeyConditionExpression: '#name = :name',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: { ':name': name },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []).map(datasetVersionRecord));
    start = out.LastEvaluatedKey;
  } while (start);
  return oldestFirst(items);
}

/** Every version of every dataset: a scan of the datasets table. */
export async function scanDatasetVersions(): Promise<DatasetVersionRecord[]> {
  const versions: DatasetVersionRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new ScanCommand({ TableName: tableName('datasets'), ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    versions.push(...(out.Items ?? []).map(datasetVersionRecord));
    start = out.LastEvaluatedKey;
  } while (start);
  return versions;
}

/** Every dataset, by name: a scan of the datasets table (one item per version). */
export async function listDatasets(): Promise<DatasetSummary[]> {
  const byName = new Map<string, DatasetVersionRecord[]>();
  for (const item of await scanDatasetVersions()) {
    byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, versions]) => {
      const latest = oldestFirst(versions).at(-1) as DatasetVersionRecord;
      const rows = rowsOfVersion(latest);
      return {
        name,
        versions: versions.length,
        latestVersion: latest.version,
        status: latest.status,
        ...(rows === undefined ? {} : { rows }),
        updatedAt: latest.createdAt,
      };
    });
}

/**
 * A dataset version item as readers may rely on it, whatever wrote it (an older or broken version of the
 * platform): the fields every listing reads are present, with what can be known in place of what is missing.
 */
export function datasetVersionRecord(item: Record<string, unknown>): DatasetVersionRecord {
  const createdAt = text(item.createdAt) ?? EPOCH;
  return {
    ...(item as Partial<DatasetVersionRecord>),
    name: text(item.name) ?? '',
    version: text(item.version) ?? '',
    hash: text(item.hash) ?? '',
    key: text(item.key) ?? '',
    size: typeof item.size === 'number' ? item.size : 0,
    firstRunId: text(item.firstRunId) ?? '',
    status: item.status === 'REGISTERED' || item.status === 'INVALID' ? item.status : 'INVALID',
    createdAt,
  };
}

function oldestFirst(versions: readonly DatasetVersionRecord[]): DatasetVersionRecord[] {
  return [...versions].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.version.localeCompare(b.version),
  );
}

export async function setDatasetOutcome(
  name: string,
  version: string,
  outcome:
    | { status: 'REGISTERED'; schema: DatasetSchema | ImageDatasetSchema; reportKey?: string }
    | { status: 'INVALID'; reason: string; reportKey?: string },
): Promise<void> {
  const detail = outcome.status === 'REGISTERED' ? { schema: outcome.schema } : { reason: outcome.reason };
  await updateFields(
    'datasets',
    { name, version },
    { status: outcome.status, reportKey: outcome.reportKey, ...detail },
  );
}
