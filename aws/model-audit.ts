/**
 * The models table's audit log and what keeps it whole: appending an entry (one conditional put, so of two
 * concurrent changes exactly one lands), reading it back, the per-model lock that keeps a status change and an
 * alias change apart, and the approvals a pipeline waits on. Versions, statuses and aliases, which are this
 * log read and appended to, are in model-registry.ts.
 *
 * Keys (one partition per model): `AUDIT#ALIAS#<alias>#<rev>`, `AUDIT#STATUS#<v>#<rev>`, `LOCK`,
 * `APPROVAL#<v>`.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../core/errors.ts';
import { MODEL_KEYS } from '../core/keys.ts';
import type { AuditEntry } from '../core/model-registry.ts';
import { tableName } from './config.ts';
import { db, isConditionFailure } from './dynamo.ts';

const table = () => tableName('models');

// ---- the audit log ----------------------------------------------------------------------------------------

/** Every change of a model's aliases and statuses, in time order. */
export async function auditLog(model: string): Promise<AuditEntry[]> {
  const entries = await queryPrefix<AuditEntry & { sk?: string }>(model, MODEL_KEYS.auditPrefix);
  return entries
    .map(({ sk: _sk, ...entry }) => entry as AuditEntry)
    .sort((a, b) => String(a.at ?? '').localeCompare(String(b.at ?? '')) || a.revision - b.revision);
}

/** Appends an entry; a lost race (the revision exists) is a ConflictError and writes nothing. */
export async function appendEntry<T extends AuditEntry>(entry: T): Promise<T> {
  const sk =
    entry.kind === 'alias'
      ? MODEL_KEYS.aliasEntry(entry.alias, entry.revision)
      : MODEL_KEYS.statusEntry(entry.version, entry.revision);
  try {
    await db().send(
      new PutCommand({
        TableName: table(),
        Item: { ...entry, sk },
        ConditionExpression: 'attribute_not_exists(sk)',
      }),
    );
    return entry;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const subject =
      entry.kind === 'alias' ? `${entry.alias} of ${entry.model}` : `v${entry.version} of ${entry.model}`;
    throw new ConflictError(
      `another change of ${subject} landed first (revision ${entry.revision}); read it and try again`,
      { cause: error },
    );
  }
}

/** Every item under a key prefix of a model's partition (all pages), read consistently. */
export async function queryPrefix<T>(model: string, prefix: string): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'model = :model AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':model': model, ':prefix': prefix },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) items.push(item as T);
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The newest item under a key prefix (the highest revision), read consistently. */
export async function newestWithPrefix<T>(model: string, prefix: string): Promise<T | undefined> {
  const out = await db().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'model = :model AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':model': model, ':prefix': prefix },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return out.Items?.[0] as T | undefined;
}

// ---- the lock ---------------------------------------------------------------------------------------------

/**
 * Runs one change of a model's aliases or version statuses while no other does. Each is a conditional append
 * to its own log, which keeps two changes of one alias (or one status) apart; but an alias change checks the
 * version's status and a status change checks the aliases, and without this two of them at once could each
 * pass the other's check — production promoted onto a version archived in the same instant. The lock is one
 * conditional item per model (`LOCK`), released after the change, and taken over once it is older than
 * LOCK_MS (a holder that died); a change that cannot take it within LOCK_WAIT_MS is a ConflictError.
 */
export async function withModelLock<T>(model: string, change: () => Promise<T>): Promise<T> {
  const owner = randomUUID();
  const key = { model, sk: MODEL_KEYS.lock };
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const now = Date.now();
    try {
      await db().send(
        new PutCommand({
          TableName: table(),
          Item: { ...key, owner, expiresAt: now + LOCK_MS },
          ConditionExpression: 'attribute_not_exists(sk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      break;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (Date.now() > deadline) {
        throw new ConflictError(`another change of ${model} is in progress; try again`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    }
  }
  try {
    return await change();
  } finally {
    await db()
      .send(
        new DeleteCommand({
          TableName: table(),
          Key: key,
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      )
      .catch(() => undefined); // taken over after it expired: the new holder's to release
  }
}

/** How long a change may hold a model's lock before another takes it over, and how long one waits for it. */
const LOCK_MS = 15_000;
const LOCK_WAIT_MS = 10_000;

// ---- approvals --------------------------------------------------------------------------------------------

/** A pipeline waiting for a person: the Step Functions task token that resumes it. */
export interface ApprovalRecord {
  readonly model: string;
  readonly version: number;
  readonly runId: string;
  readonly taskToken: string;
  readonly reason: string;
  readonly requestedAt: string;
  readonly resolvedAt?: string;
}

export async function putApproval(record: Omit<ApprovalRecord, 'resolvedAt'>): Promise<void> {
  await db().send(
    new PutCommand({ TableName: table(), Item: { ...record, sk: MODEL_KEYS.approval(record.version) } }),
  );
}

export async function getApproval(model: string, version: number): Promise<ApprovalRecord | undefined> {
  const out = await db().send(
    new GetCommand({
      TableName: table(),
      Key: { model, sk: MODEL_KEYS.approval(version) },
      ConsistentRead: true,
    }),
  );
  return out.Item as ApprovalRecord | undefined;
}

/** Marks an approval answered, once: a second answer is a ConflictError. */
export async function resolveApproval(model: string, version: number): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { model, sk: MODEL_KEYS.approval(version) },
        UpdateExpression: 'SET resolvedAt = :now',
        ConditionExpression: 'attribute_exists(sk) AND attribute_not_exists(resolvedAt)',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    throw new ConflictError(`v${version} of ${model} has no pending approval`, { cause: error });
  }
}
