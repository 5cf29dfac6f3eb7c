/**
 * The runs table: one item per pipeline run (keyed by its execution name) and per trial of a run's search
 * (`kind: trial`), read tolerantly whatever wrote them.
 */
import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RunRecord, RunStatus, TrialRecord } from '../core/api-types.ts';
import { KEYS } from '../core/keys.ts';
import { tableName } from './config.ts';
import { db, EPOCH, isConditionFailure, text, updateFields } from './dynamo.ts';

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
    /** The step that opens it. @default 'RegisterDataset' */
    readonly step?: string;
  },
) {
  const now = new Date().toISOString();
  const { step = 'RegisterDataset', ...fields } = run;
  await db().send(
    new PutCommand({
      TableName: tableName('runs'),
      Item: {
        ...fields,
        status: 'RUNNING',
        step,
        steps: [{ name: step, at: run.startedAt ?? now }],
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
  await updateFields(
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

/** The trials of a run's search, in trial order: a scan of the runs table for the items that name it. */
export async function listTrials(runId: string): Promise<TrialRecord[]> {
  const trials: TrialRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new ScanCommand({
        TableName: tableName('runs'),
        FilterExpression: '#kind = :trial AND parentRunId = :run',
        ExpressionAttributeNames: { '#kind': 'kind' },
        ExpressionAttributeValues: { ':trial': 'trial', ':run': runId },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    trials.push(...((out.Items ?? []) as TrialRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return trials.sort((a, b) => a.trial - b.trial);
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
