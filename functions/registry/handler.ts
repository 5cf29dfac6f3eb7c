/**
 * The registry API (`/v1/registry/...`): models, versions, aliases and their history, the audit log and runs
 * to read; promotions, canaries, rollbacks, approvals, rejections and archiving to change. Changes need the
 * admin credential — IAM (SigV4) in AWS, the admin key in the local gateway — and name the caller in the
 * audit log with the `reason` the body gives. Approving or rejecting a version that a pipeline waits on
 * resumes it (Step Functions SendTaskSuccess with the decision).
 *
 * Reads: GET models · models/:model · models/:model/versions[/:version] · models/:model/aliases[/:alias]
 * (`?at=<ISO time>`: where it pointed then) · models/:model/aliases/:alias/history · models/:model/audit ·
 * models/:model/versions/:version/artifacts/{metrics,card,baseline,schema} · runs (`?dataset=&limit=`) ·
 * runs/:runId · runs/:runId/progress (steps, and the epochs of its training so far) · datasets ·
 * datasets/:name (its versions) · datasets/:name/versions/:version[/report] (the validation report).
 * Changes: POST models/:model/aliases/:alias {version} · …/canary {version, weight, stickyHeader?} ·
 * …/rollback · models/:model/versions/:version/{approve,reject,archive} · runs/:runId/{stop,retry}; each with
 * {reason, expectedRevision?} (aliases).
 * Input: API Gateway REST proxy event. Output: proxy result.
 */

import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { bucketName } from '../../aws/config.ts';
import { getDatasetVersion, listDatasets, listDatasetVersions } from '../../aws/dataset-versions.ts';
import {
  executionStatus,
  isExecutionAlreadyExists,
  runExecutionArn,
  sendTaskSuccess,
  startRunOn,
  stopExecution,
} from '../../aws/executions.ts';
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
import { getBytesIfExists, getJson, listObjects, mapLimit } from '../../aws/object-store.ts';
import { claimRetry, endUnfinishedRun, getRun, listRuns } from '../../aws/runs.ts';
import type { RunRecord, TrainingProgress } from '../../core/api-types.ts';
import { type JsonBounds, parseBoundedJsonAsync } from '../../core/bounded-json.ts';
import { API } from '../../core/contract.ts';
import { runsOfVersion } from '../../core/dataset.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import { type Actor, ALIAS_PATTERN } from '../../core/model-registry.ts';
import { nameProblem, quoteName, RUN_ID_PATTERN } from '../../core/names.ts';
import { type ApprovalResult, retryRunName } from '../../core/pipeline.ts';
import { type Ctx, jsonApi } from '../http.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('registry');
const artifactsBucket = bucketName('artifacts');
const datasetsBucket = bucketName('datasets');
const VERSION_FILES = {
  metrics: ARTIFACTS.metrics,
  card: ARTIFACTS.card,
  baseline: ARTIFACTS.baseline,
  schema: ARTIFACTS.schema,
} as const;

const MAX_REASON = 500;
const CHANGE_BODY_BOUNDS: JsonBounds = {
  maxDepth: 4,
  maxArrayItems: 64,
  maxObjectKeys: 16,
  maxStringChars: 1024,
  maxNumberChars: 32,
  maxValues: 256,
};

class ForbiddenChange extends Error {}
const { handle, get, post } = jsonApi(API.registryResource, logger, [[ForbiddenChange, 403]]);

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

/** A JSON file of a version's folder: its test metrics (and confusion matrix), card (learning curve, lineage), baseline or schema. */
get('/models/:model/versions/:version/artifacts/:name', async ({ params }) => {
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
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
});

get('/models/:model/aliases', async ({ params }) => ({
  aliases: (await listAliases(modelParam(params))).map(aliasView),
}));

get('/models/:model/aliases/:alias', async ({ params, req }) => {
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

get('/models/:model/aliases/:alias/history', async ({ params }) => ({
  history: await aliasHistory(modelParam(params), aliasParam(params)),
}));

get('/models/:model/audit', async ({ params }) => ({ audit: await auditLog(modelParam(params)) }));

get('/datasets', async () => ({ datasets: await listDatasets() }));

/** A dataset's versions, oldest first: status, rows, the run that registered each. */
get('/datasets/:name', async ({ params }) => {
  const name = datasetParam(params);
  const versions = await listDatasetVersions(name);
  if (versions.length === 0) throw new NotFoundError(`no dataset "${name}"`);
  return { name, versions };
});

get('/datasets/:name/versions/:version', async ({ params }) => requireDatasetVersion(params));

/** A tabular version's validation report (RegisterDataset wrote it next to the version's index). */
get('/datasets/:name/versions/:version/report', async ({ params }) => {
  const version = await requireDatasetVersion(params);
  const bytes = version.reportKey ? await getBytesIfExists(datasetsBucket, version.reportKey) : undefined;
  if (!bytes) {
    throw new NotFoundError(
      `${version.name}@${version.version} has no validation report (image datasets and older versions have none)`,
    );
  }
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
});

get('/runs', async ({ req }) => {
  const query = new URL(req.url).searchParams;
  const limit = query.get('limit');
  if (limit !== null && !/^[1-9]\d{0,3}$/.test(limit)) {
    throw new InvalidRequestError('"limit" must be a whole number from 1 to 9999', 'limit');
  }
  const dataset = query.get('dataset');
  // Any text: a refused upload's run carries the name as typed. Bounded, as every input is.
  if (dataset !== null && dataset.length > 1024) {
    throw new InvalidRequestError('"dataset" is at most 1024 characters', 'dataset');
  }
  return {
    runs: await listRuns({
      ...(dataset === null ? {} : { dataset }),
      ...(limit === null ? {} : { limit: Number(limit) }),
    }),
  };
});

get('/runs/:runId', async ({ params }) => requireRun(params.runId));

/** Where a run is: its steps so far, and each training job's epochs (its learning curve) when it trains. */
get('/runs/:runId/progress', async ({ params }) => {
  const run = await requireRun(params.runId);
  const prefix = KEYS.trainingProgressPrefix(run.dataset, run.runId);
  const files = await listObjects(artifactsBucket, prefix);
  // A file being rewritten as it is read (the local S3's writes are not atomic) is left out of this answer.
  const trials = await mapLimit(files, 8, (file) =>
    getJson<TrainingProgress>(artifactsBucket, file.key).catch((error: unknown) => {
      logger.warn('training progress unreadable', { key: file.key, error: error as Error });
      return undefined;
    }),
  );
  const training = trials
    .filter((t): t is TrainingProgress => t !== undefined)
    .sort((a, b) => a.trial - b.trial);
  return {
    runId: run.runId,
    dataset: run.dataset,
    status: run.status,
    step: run.step,
    steps: run.steps ?? [],
    ...(run.reason ? { reason: run.reason } : {}),
    ...(run.modelVersion === undefined ? {} : { modelVersion: run.modelVersion }),
    // The first (or only) trial's curve, and every trial's when there is a search.
    ...(training[0] ? { training: training[0] } : {}),
    ...(training.length > 1 ? { trials: training } : {}),
  };
});

// ---- changes (admin) --------------------------------------------------------------------------------------

post('/models/:model/aliases/:alias', async (ctx) => {
  const { body, actor } = await change(ctx);
  return promote(
    modelParam(ctx.params),
    aliasParam(ctx.params, true),
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

post('/models/:model/aliases/:alias/rollback', async (ctx) => {
  const { body, actor } = await change(ctx);
  return rollback(modelParam(ctx.params), aliasParam(ctx.params, true), actor, revision(body));
});

for (const action of ['approve', 'reject', 'archive'] as const) {
  post(`/models/:model/versions/:version/${action}`, async (ctx) => {
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
 * Stops a running run: StopExecution on its execution (the execution-ended function then records the end,
 * with how long it ran and where). A run whose execution has already ended without saying so — or no longer
 * exists — is ended here. Answers the run as it is now, and whether its stop is still being recorded.
 */
post('/runs/:runId/stop', async (ctx) => {
  const { actor } = await change(ctx);
  const run = await requireRun(ctx.params.runId);
  if (run.status !== 'RUNNING') throw new ConflictError(`run ${run.runId} already ended ${run.status}`);
  const arn = runExecutionArn(run.runId);
  const status = await executionStatus(arn);
  if (status === 'RUNNING') {
    await stopExecution(arn, 'nimbus.RunStopped', `${actor.why} (${actor.who})`);
    logger.info('run stopping', { runId: run.runId, who: actor.who });
    return { run: await requireRun(run.runId), stopping: true };
  }
  await endUnfinishedRun(run.runId, {
    reason: `stopped: its execution had already ended (${status ?? 'it no longer exists'}): ${actor.why} (${actor.who})`,
    dataset: run.dataset,
    datasetKey: run.datasetKey,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
  });
  return { run: await requireRun(run.runId), stopping: false };
});

/**
 * Retries a failed run: a new run on the same dataset version (the object it read, which must still hold the
 * same bytes — otherwise the new run fails saying so), named after the failed run (core/pipeline.ts
 * retryRunName), with `retryOf` on it and `retriedBy` on the failed run. Once per failed run: a second retry
 * answers 409 naming the first (retry that one if it failed too) — unless the first was claimed but never
 * started (a function that died between the two), which asking again starts. Refused (409) while another run on
 * the same bytes is RUNNING or has SUCCEEDED, and for a run whose dataset name is refused. Answers the new run's
 * id; its record appears when its first step opens it.
 */
post('/runs/:runId/retry', async (ctx) => {
  const { actor } = await change(ctx);
  const run = await requireRun(ctx.params.runId);
  if (run.status !== 'FAILED') {
    throw new ConflictError(
      `run ${run.runId} is ${run.status}: only a FAILED run is retried${run.status === 'RUNNING' ? ' (stop it first)' : ''}`,
    );
  }
  const location = KEYS.parseDatasetKey(run.datasetKey);
  if (!location) {
    throw new ConflictError(
      `run ${run.runId} read no dataset object (${quoteName(run.datasetKey)}): nothing to retry`,
    );
  }
  const problem = nameProblem('dataset', location.dataset, (valid) => `datasets/${valid}/${location.file}`);
  if (problem) throw new ConflictError(`run ${run.runId} cannot be retried: ${problem}`);
  const runId = retryRunName(run.runId);
  const already = () =>
    new ConflictError(`run ${run.runId} was already retried by run ${run.retriedBy ?? runId}`);
  if (run.retriedBy !== undefined && (run.retriedBy !== runId || (await getRun(runId)))) throw already();
  await refuseWhileLive(run, location.dataset);
  if (run.retriedBy === undefined && !(await claimRetry(run.runId, runId))) {
    const claimed = await requireRun(run.runId);
    if (claimed.retriedBy !== runId || (await getRun(runId))) {
      throw new ConflictError(`run ${run.runId} was already retried by run ${claimed.retriedBy ?? '?'}`);
    }
  }
  let executionArn: string;
  try {
    executionArn = await startRunOn(
      datasetsBucket,
      run.datasetKey,
      {
        by: actor.who,
        reason: `retry of run ${run.runId}: ${actor.why}`,
        retryOf: run.runId,
        ...(run.datasetVersion ? { version: run.datasetVersion } : {}),
      },
      runId,
    );
  } catch (error) {
    // The name is the retry's: its execution exists (started by an earlier call that did not hear back).
    if (isExecutionAlreadyExists(error)) throw already();
    throw error;
  }
  logger.info('run retried', { runId: run.runId, retry: runId, who: actor.who });
  return {
    runId,
    retryOf: run.runId,
    executionArn,
    dataset: run.dataset,
    datasetVersion: run.datasetVersion,
  };
});

/** A 409 when another run on the failed run's bytes is RUNNING or has SUCCEEDED: those bytes are in hand. */
async function refuseWhileLive(run: RunRecord, dataset: string): Promise<void> {
  if (!run.datasetVersion) return;
  const version = await getDatasetVersion(dataset, run.datasetVersion);
  if (!version) return;
  for (const id of runsOfVersion(version)) {
    if (id === run.runId || id === run.retriedBy) continue;
    const other = await getRun(id);
    if (other && other.status !== 'FAILED') {
      throw new ConflictError(
        `run ${id} on the same bytes (${dataset}@${version.version}) is ${other.status}: nothing to retry`,
      );
    }
  }
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

/** A change's body and caller: the caller is the IAM principal (the admin key's principal locally). */
async function change(ctx: Ctx): Promise<{ body: Record<string, unknown>; actor: Actor }> {
  const event = ctx.event as APIGatewayProxyEvent;
  const who = event.requestContext?.identity?.userArn;
  if (!who)
    throw new ForbiddenChange('registry changes need the admin credential (IAM, or the local admin key)');
  // A change's body is a few fields and a reason: read within bounds that say so (core/bounded-json.ts).
  const body = await parseBoundedJsonAsync((await ctx.req.text()) || '{}', CHANGE_BODY_BOUNDS);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('the request body must be a JSON object');
  }
  const { reason } = body as { reason?: unknown };
  if (typeof reason === 'string' && !isPlainText(reason)) {
    throw new InvalidRequestError(
      '"reason" must be text: no control characters (but tab and newline) and no lone surrogates',
      'reason',
    );
  }
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON) {
    throw new InvalidRequestError(
      `"reason" is required: why this change is made (at most ${MAX_REASON} characters), for the audit log`,
      'reason',
    );
  }
  return { body: body as Record<string, unknown>, actor: { who, why: reason.trim() } };
}

/**
 * Text the audit log can hold and every reader can show: no control characters but tab and newline (they
 * would rewrite a terminal), and well-formed UTF-16 (a lone surrogate breaks JSON tools such as jq).
 */
function isPlainText(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return false;
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
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

async function requireRun(runId: string | undefined): Promise<RunRecord> {
  const run = runId !== undefined && RUN_ID_PATTERN.test(runId) ? await getRun(runId) : undefined;
  if (!run) {
    const id = runId !== undefined && RUN_ID_PATTERN.test(runId) ? runId : quoteName(runId ?? '');
    throw new NotFoundError(`no run ${id}`);
  }
  return run;
}

/** A path's model: a name outside the rule is no model (404, with the valid form), before any table is read. */
function modelParam(params: Record<string, string>): string {
  const model = params.model ?? '';
  const problem = nameProblem('model', model);
  if (problem) throw new NotFoundError(`no model ${quoteName(model)}: ${problem}`);
  return model;
}

function datasetParam(params: Record<string, string>): string {
  const name = params.name ?? '';
  const problem = nameProblem('dataset', name);
  if (problem) throw new NotFoundError(`no dataset ${quoteName(name)}: ${problem}`);
  return name;
}

/** A path's alias: a name outside the alias rule is no alias (404) for reads; changes say why (400). */
function aliasParam(params: Record<string, string>, change = false): string {
  const alias = params.alias ?? '';
  if (ALIAS_PATTERN.test(alias)) return alias;
  const rule = 'an alias is lowercase letters, digits, "-" and "_" (at most 40), starting with a letter';
  if (change) throw new InvalidRequestError(`${quoteName(alias)} is not an alias name: ${rule}`, 'alias');
  throw new NotFoundError(`no alias ${quoteName(alias)}: ${rule}`);
}

async function requireDatasetVersion(params: Record<string, string>) {
  const name = datasetParam(params);
  const id = params.version ?? '';
  const version = /^[0-9a-f]{1,64}$/.test(id) ? await getDatasetVersion(name, id) : undefined;
  if (!version) throw new NotFoundError(`dataset "${name}" has no version ${quoteName(id)}`);
  return version;
}

/** A path's version: a whole number as decimal digits, as predict's paths take it (`0x8`, `8e0`, ` 8` are none). */
function versionParam(params: Record<string, string>): number {
  const text = params.version ?? '';
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new NotFoundError(`no version ${quoteName(text)}`);
  return Number(text);
}

function aliasView(entry: Awaited<ReturnType<typeof listAliases>>[number]) {
  const { alias, state, revision, action, who, why, at } = entry;
  return { alias, ...state, revision, changedBy: who, reason: why, action, changedAt: at };
}

export function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  return handle(event, context);
}
