/**
 * The registry API (`/v1/registry/...`): models, versions, aliases and their history, the audit log and runs
 * to read; promotions, canaries, rollbacks, approvals, rejections and archiving to change. Changes need the
 * admin credential — IAM (SigV4) in AWS, the admin key in the local gateway — and name the caller in the
 * audit log with the `reason` the body gives. Approving or rejecting a version that a pipeline waits on
 * resumes it (Step Functions SendTaskSuccess with the decision).
 *
 * Reads: GET models · models/:model · models/:model/versions[/:version] · models/:model/aliases[/:alias]
 * (`?at=<ISO time>`: where it pointed then) · models/:model/aliases/:alias/history · models/:model/audit ·
 * runs (`?dataset=&limit=`) · runs/:runId.
 * Changes: POST models/:model/aliases/:alias {version} · …/canary {version, weight, stickyHeader?} ·
 * …/rollback · models/:model/versions/:version/{approve,reject,archive}; each with {reason,
 * expectedRevision?} (aliases).
 * Input: API Gateway REST proxy event. Output: proxy result.
 */

import { Router } from '@aws-lambda-powertools/event-handler/http';
import type { RequestContext as Ctx } from '@aws-lambda-powertools/event-handler/types';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { sfnClient } from '../../aws/clients.ts';
import {
  aliasAtTime,
  aliasHistory,
  auditLog,
  changeStatus,
  currentAlias,
  getApproval,
  listAliases,
  listModels,
  listModelVersions,
  promote,
  requireModelVersion,
  resolveApproval,
  rollback,
  startCanary,
} from '../../aws/models.ts';
import { getRun, listRuns } from '../../aws/registry.ts';
import { API, NAME_PATTERN } from '../../core/contract.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import type { ApprovalResult } from '../../core/pipeline.ts';
import type { Actor } from '../../core/registry.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('registry');
const router = new Router({ prefix: `/${API.registryResource.join('/')}` });
const MAX_REASON = 500;

/** Routes answer JSON: whatever the function returns, with 200. */
const ok = (value: unknown) =>
  new Response(JSON.stringify(value), { status: 200, headers: { 'Content-Type': 'application/json' } });
const get = (path: `/${string}`, fn: (ctx: Ctx) => Promise<unknown>) =>
  router.get(path, async (ctx) => ok(await fn(ctx)));
const post = (path: `/${string}`, fn: (ctx: Ctx) => Promise<unknown>) =>
  router.post(path, async (ctx) => ok(await fn(ctx)));

// ---- reads ------------------------------------------------------------------------------------------------

get('/models', async () => ({ models: await listModels() }));

get('/models/:model', async ({ params }) => {
  const model = modelParam(params);
  const [versions, aliases] = await Promise.all([listModelVersions(model), listAliases(model)]);
  if (versions.length === 0) throw new NotFoundError(`no model "${model}"`);
  return { model, aliases: aliases.map(aliasView), versions };
});

get('/models/:model/versions', async ({ params }) => ({
  versions: await listModelVersions(modelParam(params)),
}));

get('/models/:model/versions/:version', async ({ params }) =>
  requireModelVersion(modelParam(params), versionParam(params)),
);

get('/models/:model/aliases', async ({ params }) => ({
  aliases: (await listAliases(modelParam(params))).map(aliasView),
}));

get('/models/:model/aliases/:alias', async ({ params, req }) => {
  const model = modelParam(params);
  const alias = params.alias as string;
  const at = new URL(req.url).searchParams.get('at');
  if (at !== null) {
    const time = new Date(at);
    if (Number.isNaN(time.getTime())) {
      throw new InvalidRequestError(`"at" must be an ISO 8601 time, not ${JSON.stringify(at)}`, 'at');
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

get('/models/:model/aliases/:alias/history', async ({ params }) => ({
  history: await aliasHistory(modelParam(params), params.alias as string),
}));

get('/models/:model/audit', async ({ params }) => ({ audit: await auditLog(modelParam(params)) }));

get('/runs', async ({ req }) => {
  const query = new URL(req.url).searchParams;
  const limit = query.get('limit');
  if (limit !== null && !/^[1-9]\d{0,3}$/.test(limit)) {
    throw new InvalidRequestError('"limit" must be a whole number from 1 to 9999', 'limit');
  }
  const dataset = query.get('dataset');
  return {
    runs: await listRuns({
      ...(dataset === null ? {} : { dataset }),
      ...(limit === null ? {} : { limit: Number(limit) }),
    }),
  };
});

get('/runs/:runId', async ({ params }) => {
  const run = await getRun(params.runId as string);
  if (!run) throw new NotFoundError(`no run ${params.runId}`);
  return run;
});

// ---- changes (admin) --------------------------------------------------------------------------------------

post('/models/:model/aliases/:alias', async (ctx) => {
  const { body, actor } = await change(ctx);
  return promote(
    modelParam(ctx.params),
    ctx.params.alias as string,
    versionField(body),
    actor,
    revision(body),
  );
});

post('/models/:model/aliases/:alias/canary', async (ctx) => {
  const { body, actor } = await change(ctx);
  const { weight, stickyHeader } = body;
  if (typeof weight !== 'number')
    throw new InvalidRequestError('"weight" must be a number between 0 and 1', 'weight');
  if (stickyHeader !== undefined && typeof stickyHeader !== 'string') {
    throw new InvalidRequestError('"stickyHeader" must be a header name', 'stickyHeader');
  }
  return startCanary(modelParam(ctx.params), ctx.params.alias as string, versionField(body), weight, actor, {
    ...revision(body),
    ...(stickyHeader === undefined ? {} : { stickyHeader }),
  });
});

post('/models/:model/aliases/:alias/rollback', async (ctx) => {
  const { body, actor } = await change(ctx);
  return rollback(modelParam(ctx.params), ctx.params.alias as string, actor, revision(body));
});

for (const action of ['approve', 'reject', 'archive'] as const) {
  post(`/models/:model/versions/:version/${action}`, async (ctx) => {
    const { actor } = await change(ctx);
    const model = modelParam(ctx.params);
    const version = versionParam(ctx.params);
    const entry = await changeStatus(model, version, action, actor);
    if (action !== 'archive') await answerPipeline(model, version, action, actor);
    return entry;
  });
}

/** Resumes a pipeline that waits on this version, once. */
async function answerPipeline(model: string, version: number, decision: 'approve' | 'reject', actor: Actor) {
  const pending = await getApproval(model, version);
  if (!pending || pending.resolvedAt) return;
  try {
    await resolveApproval(model, version);
  } catch (error) {
    if (error instanceof ConflictError) return; // answered by a concurrent call
    throw error;
  }
  const output: ApprovalResult = { decision, who: actor.who, why: actor.why };
  await sfnClient().send(
    new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: JSON.stringify(output) }),
  );
  logger.info('pipeline resumed', { model, version, decision, runId: pending.runId });
}

/** A change's body and caller: the caller is the IAM principal (the admin key's principal locally). */
async function change(ctx: Ctx): Promise<{ body: Record<string, unknown>; actor: Actor }> {
  const event = ctx.event as APIGatewayProxyEvent;
  const who = event.requestContext?.identity?.userArn;
  if (!who)
    throw new ForbiddenChange('registry changes need the admin credential (IAM, or the local admin key)');
  let body: unknown;
  try {
    body = JSON.parse((await ctx.req.text()) || '{}');
  } catch (error) {
    throw new InvalidRequestError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('the request body must be a JSON object');
  }
  const { reason } = body as { reason?: unknown };
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON) {
    throw new InvalidRequestError(
      `"reason" is required: why this change is made (at most ${MAX_REASON} characters), for the audit log`,
      'reason',
    );
  }
  return { body: body as Record<string, unknown>, actor: { who, why: reason.trim() } };
}

function revision(body: Record<string, unknown>): { expectedRevision?: number } {
  const { expectedRevision } = body;
  if (expectedRevision === undefined) return {};
  if (typeof expectedRevision !== 'number' || !Number.isInteger(expectedRevision) || expectedRevision < 0) {
    throw new InvalidRequestError('"expectedRevision" must be a whole number', 'expectedRevision');
  }
  return { expectedRevision };
}

function versionField(body: Record<string, unknown>): number {
  const { version } = body;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new InvalidRequestError('"version" must be a version number (1, 2, …)', 'version');
  }
  return version;
}

function modelParam(params: Record<string, string>): string {
  const model = params.model ?? '';
  if (!NAME_PATTERN.test(model)) throw new NotFoundError(`no model "${model}"`);
  return model;
}

function versionParam(params: Record<string, string>): number {
  const version = Number(params.version);
  if (!Number.isInteger(version) || version < 1) throw new NotFoundError(`no version "${params.version}"`);
  return version;
}

function aliasView(entry: Awaited<ReturnType<typeof listAliases>>[number]) {
  const { alias, state, revision, action, who, why, at } = entry;
  return { alias, ...state, revision, changedBy: who, reason: why, action, changedAt: at };
}

// ---- errors -----------------------------------------------------------------------------------------------

class ForbiddenChange extends Error {}

const problem = (status: number, error: Error & { field?: string }) =>
  new Response(JSON.stringify({ error: error.message, ...(error.field ? { field: error.field } : {}) }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });

router.errorHandler(InvalidRequestError, async (error) => problem(400, error));
router.errorHandler(ForbiddenChange, async (error) => problem(403, error));
router.errorHandler(NotFoundError, async (error) => problem(404, error));
router.errorHandler(ConflictError, async (error) => problem(409, error));
router.notFound(async (_error, ctx) =>
  problem(404, new Error(`no registry route for ${ctx.req.method} ${new URL(ctx.req.url).pathname}`)),
);
router.methodNotAllowed(async (_error, ctx) =>
  problem(405, new Error(`${ctx.req.method} is not allowed on ${new URL(ctx.req.url).pathname}`)),
);
router.errorHandler(Error, async (error, ctx) => {
  const requestId = (ctx.event as APIGatewayProxyEvent).requestContext?.requestId;
  logger.error('registry request failed', { error, requestId });
  return new Response(JSON.stringify({ error: 'internal error', requestId }), {
    status: 500,
    headers: { 'Content-Type': 'application/json' },
  });
});

export function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  return router.resolve(event, context ?? ({} as Context));
}
