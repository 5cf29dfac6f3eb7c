/**
 * The registry's models: their versions, aliases (and where one pointed at a time), alias history and audit
 * log to read; promotions, canaries, rollbacks, approvals, rejections and archiving to change (the admin
 * credential). Approving or rejecting a version that a pipeline waits on resumes it.
 */

import type { APIGatewayProxyEvent } from 'aws-lambda';
import { sendTaskSuccess } from '../../aws/executions.ts';
import { auditLog, getApproval, resolveApproval } from '../../aws/model-audit.ts';
import {
  aliasAtTime,
  aliasHistory,
  changeStatus,
  currentAlias,
  listAliases,
  listModels,
  listModelVersions,
  promote,
  requireModelVersion,
  rollback,
  startCanary,
} from '../../aws/model-registry.ts';
import { getBytesIfExists } from '../../aws/object-store.ts';
import { scopeAllows } from '../../core/api-keys.ts';
import type { JsonDocument } from '../../core/api-types.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import type { Actor } from '../../core/model-registry.ts';
import { quoteName } from '../../core/names.ts';
import type { ApprovalResult } from '../../core/pipeline.ts';
import { keyScope } from '../key-scope.ts';
import {
  aliasParam,
  aliasView,
  artifactsBucket,
  change,
  logger,
  modelParam,
  revision,
  route,
  VERSION_FILES,
  versionField,
  versionParam,
} from './api.ts';

route('listModels', async ({ event }) => {
  // A scoped key lists the models it opens (and is refused every other's routes).
  const scope = await keyScope(event as APIGatewayProxyEvent);
  return { models: (await listModels()).filter((m) => scopeAllows(scope, m.model)) };
});

route('getModel', async ({ params }) => {
  const model = modelParam(params);
  const [versions, aliases] = await Promise.all([listModelVersions(model), listAliases(model)]);
  if (versions.length === 0) throw new NotFoundError(`no model "${model}"`);
  return { model, aliases: aliases.map(aliasView), versions };
});

route('listVersions', async ({ params }) => ({
  versions: await listModelVersions(modelParam(params)),
}));

route('getVersion', async ({ params }) => requireModelVersion(modelParam(params), versionParam(params)));

/** A JSON file of a version's folder: its test metrics (and confusion matrix), card (learning curve, lineage), baseline or schema. */
route('getVersionArtifact', async ({ params }) => {
  const name = params.name as string;
  if (!Object.hasOwn(VERSION_FILES, name)) {
    throw new NotFoundError(
      `no artifact ${quoteName(name)} (one of: ${Object.keys(VERSION_FILES).join(', ')})`,
    );
  }
  const version = await requireModelVersion(modelParam(params), versionParam(params));
  const file = VERSION_FILES[name as keyof typeof VERSION_FILES];
  const bytes = await getBytesIfExists(artifactsBucket, version.artifactPrefix + file);
  if (!bytes) throw new NotFoundError(`version ${version.version} of ${version.model} has no ${file}`);
  return JSON.parse(new TextDecoder().decode(bytes)) as JsonDocument;
});

route('listAliases', async ({ params }) => ({
  aliases: (await listAliases(modelParam(params))).map(aliasView),
}));

route('getAlias', async ({ params, req }) => {
  const model = modelParam(params);
  const alias = aliasParam(params);
  const at = new URL(req.url).searchParams.get('at');
  if (at !== null) {
    const time = new Date(at);
    if (Number.isNaN(time.getTime()) || time.getUTCFullYear() < 1970 || time.getUTCFullYear() > 9999) {
      throw new InvalidRequestError(
        `"at" must be an ISO 8601 time from 1970 to 9999, not ${quoteName(at)}`,
        'at',
      );
    }
    const entry = await aliasAtTime(model, alias, time);
    if (!entry)
      throw new NotFoundError(`${alias} of ${model} pointed at no version at ${time.toISOString()}`);
    return { ...aliasView(entry), asOf: time.toISOString() };
  }
  const entry = await currentAlias(model, alias);
  if (!entry) throw new NotFoundError(`model "${model}" has no alias "${alias}"`);
  return aliasView(entry);
});

route('aliasHistory', async ({ params }) => ({
  history: await aliasHistory(modelParam(params), aliasParam(params)),
}));

route('auditLog', async ({ params }) => ({ audit: await auditLog(modelParam(params)) }));

// ---- changes (admin) --------------------------------------------------------------------------------------

route('setAlias', async (ctx) => {
  const { body, actor } = await change(ctx);
  return promote(
    modelParam(ctx.params),
    aliasParam(ctx.params, true),
    versionField(body),
    actor,
    revision(body),
  );
});

route('startCanary', async (ctx) => {
  const { body, actor } = await change(ctx);
  const { weight, stickyHeader } = body;
  if (typeof weight !== 'number')
    throw new InvalidRequestError('"weight" must be a number between 0 and 1', 'weight');
  if (stickyHeader !== undefined && typeof stickyHeader !== 'string') {
    throw new InvalidRequestError('"stickyHeader" must be a header name', 'stickyHeader');
  }
  return startCanary(
    modelParam(ctx.params),
    aliasParam(ctx.params, true),
    versionField(body),
    weight,
    actor,
    {
      ...revision(body),
      ...(stickyHeader === undefined ? {} : { stickyHeader }),
    },
  );
});

route('rollbackAlias', async (ctx) => {
  const { body, actor } = await change(ctx);
  return rollback(modelParam(ctx.params), aliasParam(ctx.params, true), actor, revision(body));
});

const STATUS_ROUTES = {
  approve: 'approveVersion',
  reject: 'rejectVersion',
  archive: 'archiveVersion',
} as const;
for (const action of ['approve', 'reject', 'archive'] as const) {
  route(STATUS_ROUTES[action], async (ctx) => {
    const { actor } = await change(ctx);
    const model = modelParam(ctx.params);
    const version = versionParam(ctx.params);
    const entry = await changeStatus(model, version, action, actor);
    if (action === 'archive') return entry;
    const pipeline = await answerPipeline(model, version, action, actor);
    return pipeline ? { ...entry, pipeline } : entry;
  });
}

/**
 * Resumes a pipeline that waits on this version, once. Returns what happened to the run that waited: resumed,
 * or — when its execution has ended meanwhile (timed out, stopped) — that nothing will deploy the version.
 */
async function answerPipeline(
  model: string,
  version: number,
  decision: 'approve' | 'reject',
  actor: Actor,
): Promise<string | undefined> {
  const pending = await getApproval(model, version);
  if (!pending || pending.resolvedAt) return undefined;
  try {
    await resolveApproval(model, version);
  } catch (error) {
    if (error instanceof ConflictError) return undefined; // answered by a concurrent call
    throw error;
  }
  const output: ApprovalResult = { decision, who: actor.who, why: actor.why };
  if (!(await sendTaskSuccess(pending.taskToken, output))) {
    logger.warn('the run waiting for this version has ended', { model, version, runId: pending.runId });
    return decision === 'approve'
      ? `run ${pending.runId} no longer waits (its execution ended): promote v${version} yourself to deploy it`
      : `run ${pending.runId} no longer waits (its execution ended)`;
  }
  logger.info('pipeline resumed', { model, version, decision, runId: pending.runId });
  return `run ${pending.runId} resumed`;
}
