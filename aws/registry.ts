/**
 * The registries in DynamoDB: dataset versions and pipeline runs (models are in models.ts).
 * Every write is a single-item (conditional) write: no transactions, so the same code runs on dynalite.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DatasetSchema } from '../core/dataset.ts';
import { ConflictError } from '../core/errors.ts';
import type { ImageDatasetSchema } from '../core/image-dataset.ts';
import type { BudgetStop } from '../core/pipeline.ts';
import type { SearchSummary } from '../core/registry.ts';
import { documentClient } from './clients.ts';
import { tableName } from './config.ts';

const db = () => documentClient();

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

// ---- datasets ---------------------------------------------------------------------------------------------

export type DatasetStatus = 'REGISTERED' | 'INVALID';

export interface DatasetVersionRecord {
  readonly name: string;
  readonly version: string;
  readonly hash: string;
  readonly key: string;
  readonly size: number;
  readonly firstRunId: string;
  readonly status: DatasetStatus;
  readonly schema?: DatasetSchema | ImageDatasetSchema;
  readonly reason?: string;
  /** The version registered before this one under the same name (its lineage). */
  readonly previousVersion?: string;
  /** Where the validation report is, in the datasets bucket (tabular versions). */
  readonly reportKey?: string;
  readonly createdAt: string;
}

/**
 * Records a dataset version unless its bytes were seen before under this name.
 * Returns the existing record when they were (and writes nothing).
 */
export async function claimDatasetVersion(
  record: Omit<DatasetVersionRecord, 'status' | 'createdAt'>,
): Promise<{ created: true } | { created: false; existing: DatasetVersionRecord }> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName('datasets'),
        Item: { ...record, status: 'REGISTERED', createdAt: new Date().toISOString() },
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

export async function getDatasetVersion(
  name: string,
  version: string,
): Promise<DatasetVersionRecord | undefined> {
  const out = await db().send(new GetCommand({ TableName: tableName('datasets'), Key: { name, version } }));
  return out.Item as DatasetVersionRecord | undefined;
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
    items.push(...((out.Items ?? []) as DatasetVersionRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return oldestFirst(items);
}

/** One dataset of the registry: how many versions, and its newest one. */
export interface DatasetSummary {
  readonly name: string;
  readonly versions: number;
  readonly latestVersion: string;
  readonly status: DatasetStatus;
  readonly rows?: number;
  readonly updatedAt: string;
}

/** The rows of a version: its table's rows or its images, once it was registered. */
export function rowsOf(record: Pick<DatasetVersionRecord, 'schema'>): number | undefined {
  const schema = record.schema as { rowCount?: number; imageCount?: number } | undefined;
  return schema?.rowCount ?? schema?.imageCount;
}

/** Every dataset, by name: a scan of the datasets table (one item per version). */
export async function listDatasets(): Promise<DatasetSummary[]> {
  const byName = new Map<string, DatasetVersionRecord[]>();
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new ScanCommand({ TableName: tableName('datasets'), ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of (out.Items ?? []) as DatasetVersionRecord[]) {
      byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
    }
    start = out.LastEvaluatedKey;
  } while (start);
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

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface RunRecord {
  readonly runId: string;
  readonly status: RunStatus;
  readonly dataset: string;
  readonly datasetVersion?: string;
  readonly datasetKey: string;
  readonly step?: string;
  /** Every step the run entered, in order, with when. */
  readonly steps?: readonly { readonly name: string; readonly at: string }[];
  readonly reason?: string;
  readonly modelVersion?: number;
  readonly promoted?: boolean;
  readonly metrics?: Record<string, number>;
  /** How training went: epochs, seconds, and whether the job resumed from a checkpoint or stopped early. */
  /** The hyperparameter search, when the run had one. */
  readonly search?: SearchSummary & { readonly ensemble?: readonly number[] };
  readonly training?: {
    readonly epochs: number;
    readonly seconds: number;
    readonly resumedFromEpoch?: number;
    readonly stoppedEarly?: number;
    /** The time budget ended training: its minutes, and the (best) epoch the model is. */
    readonly stoppedOnBudget?: BudgetStop;
  };
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

export async function createRun(run: Pick<RunRecord, 'runId' | 'dataset' | 'datasetVersion' | 'datasetKey'>) {
  const now = new Date().toISOString();
  await db().send(
    new PutCommand({
      TableName: tableName('runs'),
      Item: {
        ...run,
        status: 'RUNNING',
        step: 'RegisterDataset',
        steps: [{ name: 'RegisterDataset', at: now }],
        startedAt: now,
        updatedAt: now,
      },
      ConditionExpression: 'attribute_not_exists(runId)',
    }),
  );
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
 * Records the end of a run that nothing else ended (its execution failed outside the pipeline's catch, timed
 * out or was stopped): FAILED with the reason, only while it is still RUNNING or has no record yet, so a run
 * the pipeline already ended keeps its own outcome. Returns whether it changed the run.
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
          '#startedAt = if_not_exists(#startedAt, :startedAt)',
        ConditionExpression: 'attribute_not_exists(runId) OR #status = :running',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#reason': 'reason',
          '#finishedAt': 'finishedAt',
          '#updatedAt': 'updatedAt',
          '#dataset': 'dataset',
          '#datasetKey': 'datasetKey',
          '#startedAt': 'startedAt',
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
  return out.Item as RunRecord | undefined;
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
        ...(filter.dataset === undefined
          ? { FilterExpression: 'attribute_exists(dataset)' }
          : {
              FilterExpression: 'dataset = :dataset',
              ExpressionAttributeValues: { ':dataset': filter.dataset },
            }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) runs.push(item as RunRecord);
    start = out.LastEvaluatedKey;
  } while (start);
  runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return filter.limit === undefined ? runs : runs.slice(0, filter.limit);
}

/**
 * One trial of a run's hyperparameter search, in the runs table under `<runId>#trial-<n>` (no `dataset`
 * attribute, so listings of a dataset's runs do not see it).
 */
export interface TrialRecord {
  readonly runId: string;
  readonly kind: 'trial';
  readonly parentRunId: string;
  readonly trial: number;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly parameters: Record<string, unknown>;
  readonly metric: string;
  readonly score?: number;
  readonly reason?: string;
  readonly seconds?: number;
  readonly modelPrefix: string;
  readonly finishedAt: string;
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
