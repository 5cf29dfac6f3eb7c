/**
 * The model registry in DynamoDB: versions (numbered by one atomic counter per model), and an append-only
 * audit log that is also the state of aliases and of version statuses. An alias points where its newest log
 * entry says; a change is one conditional put of the next entry, so of two concurrent changes exactly one
 * lands and the other is a ConflictError — no transactions needed (dynalite has none), and the log cannot
 * disagree with the state because it is the state.
 *
 * Keys (one partition per model): `META` (the counter), `VERSION#<v>`; the log's own keys, its append, the
 * per-model lock and the approvals are in model-audit.ts.
 */
import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ModelSummary } from '../core/api-types.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from '../core/errors.ts';
import { MODEL_KEYS } from '../core/keys.ts';
import {
  type Actor,
  ALIAS_PATTERN,
  type AliasEntry,
  aliasAt,
  aliasVersions,
  describeAlias,
  entryTime,
  type ModelStatus,
  type ModelVersion,
  nextStatus,
  rollbackTarget,
  type StatusAction,
  type StatusEntry,
  servable,
} from '../core/model-registry.ts';
import { NAME_PATTERN } from '../core/names.ts';
import { tableName } from './config.ts';
import { db } from './dynamo.ts';
import { appendEntry, newestWithPrefix, queryPrefix, withModelLock } from './model-audit.ts';

const table = () => tableName('models');

// ---- versions ---------------------------------------------------------------------------------------------

/** The next version number of a model: one atomic counter per model, so numbers never repeat. */
export async function allocateModelVersion(model: string): Promise<number> {
  const out = await db().send(
    new UpdateCommand({
      TableName: table(),
      Key: { model, sk: MODEL_KEYS.meta },
      UpdateExpression: 'ADD latestVersion :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(out.Attributes?.latestVersion);
}

/** Writes a new version and the first entry of its status log (`registered`, by whom and why). */
export async function putModelVersion(version: Omit<ModelVersion, 'status'>, actor: Actor): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: table(),
      Item: { ...version, status: 'registered', sk: MODEL_KEYS.version(version.version) },
      ConditionExpression: 'attribute_not_exists(sk)',
    }),
  );
  await appendEntry<StatusEntry>({
    model: version.model,
    kind: 'status',
    version: version.version,
    revision: 1,
    action: 'register',
    status: 'registered',
    ...actor,
    at: version.createdAt,
  });
}

/** Whether a model is registered: it has been given a version number (its `META` item). */
export async function modelExists(model: string): Promise<boolean> {
  const out = await db().send(
    new GetCommand({
      TableName: table(),
      Key: { model, sk: MODEL_KEYS.meta },
      ProjectionExpression: 'model',
    }),
  );
  return out.Item !== undefined;
}

/** A version with its current status (from its status log). */
export async function getModelVersion(model: string, version: number): Promise<ModelVersion | undefined> {
  const [item, status] = await Promise.all([
    db().send(new GetCommand({ TableName: table(), Key: { model, sk: MODEL_KEYS.version(version) } })),
    latestStatus(model, version),
  ]);
  if (!item.Item) return undefined;
  return { ...(item.Item as ModelVersion), status: status?.status ?? 'registered' };
}

/** A version, or a NotFoundError that names it. */
export async function requireModelVersion(model: string, version: number): Promise<ModelVersion> {
  const found = await getModelVersion(model, version);
  if (!found) throw new NotFoundError(`model "${model}" has no version ${version}`);
  return found;
}

/** Every version of a model with its current status, oldest first. */
export async function listModelVersions(model: string): Promise<ModelVersion[]> {
  const [versions, audit] = await Promise.all([
    queryPrefix<ModelVersion & { sk?: string }>(model, MODEL_KEYS.versionPrefix),
    queryPrefix<StatusEntry>(model, 'AUDIT#STATUS#'),
  ]);
  const status = new Map<number, ModelStatus>();
  for (const entry of audit) status.set(entry.version, entry.status);
  return versions
    .map(({ sk: _sk, ...version }) => ({ ...version, status: status.get(version.version) ?? version.status }))
    .sort((a, b) => a.version - b.version);
}

/** Every model that has a version. */
export async function listModels(): Promise<ModelSummary[]> {
  const models: ModelSummary[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new ScanCommand({
        TableName: table(),
        FilterExpression: 'sk = :meta',
        ExpressionAttributeValues: { ':meta': MODEL_KEYS.meta },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) {
      models.push({ model: String(item.model), latestVersion: Number(item.latestVersion) });
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return models.sort((a, b) => a.model.localeCompare(b.model));
}

// ---- status -----------------------------------------------------------------------------------------------

function latestStatus(model: string, version: number): Promise<StatusEntry | undefined> {
  return newestWithPrefix<StatusEntry>(model, MODEL_KEYS.statusPrefix(version));
}

/**
 * Approves, rejects or archives a version. A version that an alias sends traffic to cannot be rejected or
 * archived: move the alias first.
 */
export function changeStatus(
  model: string,
  version: number,
  action: Exclude<StatusAction, 'register'>,
  actor: Actor,
): Promise<StatusEntry> {
  return withModelLock(model, () => changeStatusLocked(model, version, action, actor));
}

async function changeStatusLocked(
  model: string,
  version: number,
  action: Exclude<StatusAction, 'register'>,
  actor: Actor,
): Promise<StatusEntry> {
  const current = await requireModelVersion(model, version);
  const latest = await latestStatus(model, version);
  const next = nextStatus(current.status, action);
  if ('refused' in next) throw new ConflictError(`v${version}: ${next.refused}`);
  if (!servable(next.status)) {
    const holders = (await listAliases(model)).filter((a) => aliasVersions(a.state).includes(version));
    if (holders.length > 0) {
      throw new ConflictError(
        `v${version} serves ${holders.map((a) => `${a.alias} (${describeAlias(a.state)})`).join(', ')}; ` +
          `move the alias before you ${action} it`,
      );
    }
  }
  return appendEntry<StatusEntry>({
    model,
    kind: 'status',
    version,
    revision: (latest?.revision ?? 0) + 1,
    action,
    status: next.status,
    previous: current.status,
    ...actor,
    at: entryTime(latest),
  });
}

// ---- aliases ----------------------------------------------------------------------------------------------

/** Every change of an alias, oldest first. */
export function aliasHistory(model: string, alias: string): Promise<AliasEntry[]> {
  return queryPrefix<AliasEntry>(model, MODEL_KEYS.aliasPrefix(alias));
}

/** Where an alias points now (its newest entry), read consistently. */
export function currentAlias(model: string, alias: string): Promise<AliasEntry | undefined> {
  return newestWithPrefix<AliasEntry>(model, MODEL_KEYS.aliasPrefix(alias));
}

/** The newest entry of every alias of a model. */
export async function listAliases(model: string): Promise<AliasEntry[]> {
  const latest = new Map<string, AliasEntry>();
  for (const entry of await queryPrefix<AliasEntry>(model, 'AUDIT#ALIAS#')) latest.set(entry.alias, entry);
  // Tolerant of an entry some other version wrote without the field: it sorts first, nothing throws.
  return [...latest.values()].sort((a, b) => String(a.alias ?? '').localeCompare(String(b.alias ?? '')));
}

/** Where an alias pointed at an instant: "which version was in production at time T?". */
export async function aliasAtTime(model: string, alias: string, at: Date): Promise<AliasEntry | undefined> {
  return aliasAt(await aliasHistory(model, alias), at);
}

export interface AliasChangeOptions {
  /** The revision the caller last saw: the change is refused if another landed since. */
  readonly expectedRevision?: number;
}

/** Points an alias at one version (ending any canary): a promotion, or a canary's roll-forward. */
export function promote(
  model: string,
  alias: string,
  version: number,
  actor: Actor,
  options: AliasChangeOptions = {},
): Promise<AliasEntry> {
  return changeAlias(model, alias, actor, options, async (latest) => {
    await requireServable(model, version);
    if (latest && !latest.state.canary && latest.state.version === version) {
      throw new ConflictError(`${alias} of ${model} already points at v${version}`);
    }
    return { action: 'promote', state: { version } };
  });
}

/**
 * Splits an alias's traffic: `weight` (between 0 and 1) goes to `canary`, the rest stays with the version
 * that holds the alias. With `stickyHeader`, requests with the same value of that header get the same version.
 */
export function startCanary(
  model: string,
  alias: string,
  canary: number,
  weight: number,
  actor: Actor,
  options: AliasChangeOptions & { readonly stickyHeader?: string } = {},
): Promise<AliasEntry> {
  if (!(Number.isFinite(weight) && weight > 0 && weight < 1)) {
    throw new InvalidRequestError('"weight" must be a number between 0 and 1 (exclusive)', 'weight');
  }
  const sticky = options.stickyHeader?.toLowerCase();
  if (sticky !== undefined && !/^[a-z0-9-]{1,64}$/.test(sticky)) {
    throw new InvalidRequestError('"stickyHeader" must be an HTTP header name', 'stickyHeader');
  }
  return changeAlias(model, alias, actor, options, async (latest) => {
    if (!latest) {
      throw new ConflictError(`${alias} of ${model} points at no version; promote one before a canary`);
    }
    if (latest.state.version === canary) {
      throw new ConflictError(`v${canary} already holds ${alias}; a canary must be another version`);
    }
    await requireServable(model, canary);
    return {
      action: 'canary',
      state: {
        version: latest.state.version,
        canary: { version: canary, weight },
        ...(sticky === undefined ? {} : { stickyHeader: sticky }),
      },
    };
  });
}

/** Puts an alias back where it was before its newest change that was not undone already. */
export function rollback(
  model: string,
  alias: string,
  actor: Actor,
  options: AliasChangeOptions = {},
): Promise<AliasEntry> {
  return changeAlias(model, alias, actor, options, async (_latest, history) => {
    const target = rollbackTarget(history);
    if (!target) throw new ConflictError(`${alias} of ${model} has no earlier state to roll back to`);
    for (const version of aliasVersions(target.state)) await requireServable(model, version);
    return { action: 'rollback', state: target.state, undoes: target.undoes };
  });
}

/** What an alias change makes of the alias's latest entry and its history: the new entry's action and state. */
type DecideAlias = (
  latest: AliasEntry | undefined,
  history: AliasEntry[],
) => Promise<Pick<AliasEntry, 'action' | 'state' | 'undoes'>>;

async function changeAlias(
  model: string,
  alias: string,
  actor: Actor,
  options: AliasChangeOptions,
  decide: DecideAlias,
): Promise<AliasEntry> {
  if (!NAME_PATTERN.test(model)) throw new InvalidRequestError(`"${model}" is not a model name`, 'model');
  if (!ALIAS_PATTERN.test(alias)) {
    throw new InvalidRequestError(
      `"${alias}" is not an alias name (lowercase letters, digits, - and _, starting with a letter)`,
      'alias',
    );
  }
  return withModelLock(model, () => changeAliasLocked(model, alias, actor, options, decide));
}

async function changeAliasLocked(
  model: string,
  alias: string,
  actor: Actor,
  options: AliasChangeOptions,
  decide: DecideAlias,
): Promise<AliasEntry> {
  const history = await aliasHistory(model, alias);
  const latest = history.at(-1);
  const revision = latest?.revision ?? 0;
  if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
    throw new ConflictError(
      `${alias} of ${model} is at revision ${revision} (${describeAlias(latest?.state)}), ` +
        `not ${options.expectedRevision}: it changed since you read it`,
    );
  }
  const change = await decide(latest, history);
  return appendEntry<AliasEntry>({
    model,
    kind: 'alias',
    alias,
    revision: revision + 1,
    action: change.action,
    state: change.state,
    ...(latest ? { previous: latest.state } : {}),
    ...(change.undoes === undefined ? {} : { undoes: change.undoes }),
    ...actor,
    at: entryTime(latest),
  });
}

async function requireServable(model: string, version: number): Promise<void> {
  const found = await requireModelVersion(model, version);
  if (!servable(found.status)) throw new ConflictError(`v${version} of ${model} is ${found.status}`);
}
