/**
 * The registries in DynamoDB: dataset versions and pipeline runs (models are in model-registry.ts).
 * Every write is a single-item (conditional) write: no transactions, so the same code runs on dynalite.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  DatasetSummary,
  DatasetVersionRecord,
  RunRecord,
  RunStatus,
  TrialRecord,
} from '../core/api-types.ts';
import { KEYS } from '../core/contract.ts';
import { type DatasetSchema, runsOfVersion } from '../core/dataset.ts';
import { ConflictError } from '../core/errors.ts';
import type { ImageDatasetSchema } from '../core/image-dataset.ts';
import { documentClient } from './clients.ts';
import { tableName } from './config.ts';

const db = () => documentClient();
/** What a record missing every time field is taken to date from. */
const EPOCH = '1970-01-01T00:00:00.000Z';
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

// ---- datasets ---------------------------------------------------------------------------------------------

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

/** The rows of a version: its table's rows or its images, once it was registered. */
export function rowsOf(record: Pick<DatasetVersionRecord, 'schema'>): number | undefined {
  const schema = record.schema as { rowCount?: number; imageCount?: number } | undefined;
  return schema?.rowCount ?? schema?.imageCount;
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
      const rows = rowsOf(latest);
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
  await update(
    'datasets',
    { name, version },
    { status: outcome.status, reportKey: outcome.reportKey, ...detail },
  );
}

// ---- runs -------------------------------------------------------------------------------------------------

const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED'];

/**
 * A run item as readers may rely on it, whatever wrote it (an older or broken version of the platform): every
 * field the listing, the dashboard and the CLI read is present — what cannot be known is taken from what can
 * (the dataset from its key, the start from the last update), and a status outside the three is FAILED.
 */
export function runRecord(item: Record<string, unknown>): RunRecord {
  const datasetKey = text(item.datasetKey) ?? '';
  const startedAt = text(item.startedAt) ?? text(item.updatedAt) ?? text(item.finishedAt) ?? EPOCH;
  const steps = Array.isArray(item.steps)
    ? (item.steps as unknown[]).filter(
        (s): s is { name: string; at: string } =>
          typeof (s as { name?: unknown })?.name === 'string' &&
          typeof (s as { at?: unknown })?.at === 'string',
      )
    : [];
  return {
    ...(item as Partial<RunRecord>),
    runId: text(item.runId) ?? '',
    status: RUN_STATUSES.includes(item.status as RunStatus) ? (item.status as RunStatus) : 'FAILED',
    dataset: text(item.dataset) ?? KEYS.parseDatasetKey(datasetKey)?.dataset ?? '',
    datasetKey,
    steps,
    startedAt,
    updatedAt: text(item.updatedAt) ?? startedAt,
  };
}

export async function createRun(
  run: Pick<RunRecord, 'runId' | 'dataset' | 'datasetVersion' | 'datasetKey' | 'retryOf'> & {
    /** When the run's execution started (the pipeline's `startedAt`). @default now */
    readonly startedAt?: string;
  },
) {
  const now = new Date().toISOString();
  await db().send(
    new PutCommand({
      TableName: tableName('runs'),
      Item: {
        ...run,
        status: 'RUNNING',
        step: 'RegisterDataset',
        steps: [{ name: 'RegisterDataset', at: run.startedAt ?? now }],
        startedAt: run.startedAt ?? now,
        updatedAt: now,
      },
      ConditionExpression: 'attribute_not_exists(runId)',
    }),
  );
}

/**
 * Marks a failed run as retried by `by`, once: returns false when it already names a retry (the caller reads
 * which).
 */
export async function claimRetry(runId: string, by: string): Promise<boolean> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName('runs'),
        Key: { runId },
        UpdateExpression: 'SET #retriedBy = :by',
        ConditionExpression: 'attribute_exists(runId) AND attribute_not_exists(#retriedBy)',
        ExpressionAttributeNames: { '#retriedBy': 'retriedBy' },
        ExpressionAttributeValues: { ':by': by },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Sets fields of a run; a new `step` is also appended, with the time, to the run's `steps`. */
export async function updateRun(runId: string, fields: Partial<Omit<RunRecord, 'runId'>>): Promise<void> {
  const now = new Date().toISOString();
  await update(
    'runs',
    { runId },
    { ...fields, updatedAt: now },
    fields.step === undefined ? undefined : { steps: { name: fields.step, at: now } },
  );
}

/**
 * Records the end of a run: FAILED with the reason, only while it is still RUNNING or has no record yet, so a
 * run that already ended keeps its own outcome. The pipeline's MarkFailed calls it, and so does whatever ends
 * a run the pipeline could not (its execution failed outside the catch, timed out or was stopped). A run with
 * no record yet (it failed before RegisterDataset opened it) gets a complete one. Returns whether it changed
 * the run.
 */
export async function endUnfinishedRun(
  runId: string,
  fields: Pick<RunRecord, 'reason' | 'dataset' | 'datasetKey' | 'startedAt' | 'finishedAt'>,
): Promise<boolean> {
  const now = new Date().toISOString();
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName('runs'),
        Key: { runId },
        UpdateExpression:
          'SET #status = :failed, #reason = :reason, #finishedAt = :finishedAt, #updatedAt = :now, ' +
          '#dataset = if_not_exists(#dataset, :dataset), #datasetKey = if_not_exists(#datasetKey, :datasetKey), ' +
          '#startedAt = if_not_exists(#startedAt, :startedAt), #step = if_not_exists(#step, :step), ' +
          '#steps = if_not_exists(#steps, :steps)',
        ConditionExpression: 'attribute_not_exists(runId) OR #status = :running',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#reason': 'reason',
          '#finishedAt': 'finishedAt',
          '#updatedAt': 'updatedAt',
          '#dataset': 'dataset',
          '#datasetKey': 'datasetKey',
          '#startedAt': 'startedAt',
          '#step': 'step',
          '#steps': 'steps',
        },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':running': 'RUNNING',
          ':reason': fields.reason,
          ':finishedAt': fields.finishedAt,
          ':now': now,
          ':dataset': fields.dataset,
          ':datasetKey': fields.datasetKey,
          ':startedAt': fields.startedAt,
          ':step': 'RegisterDataset',
          ':steps': [{ name: 'RegisterDataset', at: fields.startedAt }],
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function getRun(runId: string): Promise<RunRecord | undefined> {
  const out = await db().send(new GetCommand({ TableName: tableName('runs'), Key: { runId } }));
  return out.Item && out.Item.kind !== 'trial' ? runRecord(out.Item) : undefined;
}

/**
 * Runs, newest first (trials are not runs): all of them, or one dataset's. A scan of the runs table, which
 * holds one item per run and per trial.
 */
export async function listRuns(filter: { dataset?: string; limit?: number } = {}): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new ScanCommand({
        TableName: tableName('runs'),
        // Trials share the table (`kind: trial`); any other item is a run, however little it holds.
        ...(filter.dataset === undefined
          ? {
              FilterExpression: 'attribute_not_exists(#kind) OR #kind <> :trial',
              ExpressionAttributeNames: { '#kind': 'kind' },
              ExpressionAttributeValues: { ':trial': 'trial' },
            }
          : {
              FilterExpression: 'dataset = :dataset',
              ExpressionAttributeValues: { ':dataset': filter.dataset },
            }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) if (item.kind !== 'trial') runs.push(runRecord(item));
    start = out.LastEvaluatedKey;
  } while (start);
  runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.runId.localeCompare(b.runId));
  return filter.limit === undefined ? runs : runs.slice(0, filter.limit);
}

export const trialRecordId = (runId: string, trial: number): string =>
  `${runId}#trial-${String(trial).padStart(3, '0')}`;

export async function putTrial(record: Omit<TrialRecord, 'runId' | 'kind'>): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName('runs'),
      Item: { ...record, runId: trialRecordId(record.parentRunId, record.trial), kind: 'trial' },
    }),
  );
}

// ---- helpers ----------------------------------------------------------------------------------------------

/** Sets the fields given (undefined ones are left alone) and appends to one list attribute. */
async function update(
  role: 'datasets' | 'runs',
  key: Record<string, string>,
  fields: Record<string, unknown>,
  append?: Record<string, unknown>,
) {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  const [list, item] = Object.entries(append ?? {})[0] ?? [];
  if (entries.length === 0 && list === undefined) return;
  const sets = entries.map((_, i) => `#f${i} = :v${i}`);
  if (list !== undefined) sets.push('#list = list_append(if_not_exists(#list, :empty), :item)');
  await db().send(
    new UpdateCommand({
      TableName: tableName(role),
      Key: key,
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: {
        ...Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
        ...(list === undefined ? {} : { '#list': list }),
      },
      ExpressionAttributeValues: {
        ...Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
        ...(list === undefined ? {} : { ':empty': [], ':item': [item] }),
      },
    }),
  );
}
