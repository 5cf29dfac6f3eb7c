/**
 * The registry API's router and what its routes share: the buckets, the change body and its caller, and the
 * path parameters read as the platform's rules say (a name outside them is no resource: 404).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { bucketName } from '../../aws/config.ts';
import { getDatasetVersion } from '../../aws/dataset-versions.ts';
import type { listAliases } from '../../aws/model-registry.ts';
import { getRun } from '../../aws/runs.ts';
import { MAX_KEY_MODELS } from '../../core/api-keys.ts';
import type { RunRecord } from '../../core/api-types.ts';
import { type JsonBounds, parseBoundedJsonAsync } from '../../core/bounded-json.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { ARTIFACTS } from '../../core/keys.ts';
import { type Actor, ALIAS_PATTERN } from '../../core/model-registry.ts';
import { nameProblem, quoteName, RUN_ID_PATTERN } from '../../core/names.ts';
import { type Ctx, declaredApi } from '../http.ts';
import { keyScope } from '../key-scope.ts';
import { createLogger } from '../logger.ts';

export const logger = createLogger('registry');
export const artifactsBucket = bucketName('artifacts');
export const datasetsBucket = bucketName('datasets');
export const VERSION_FILES = {
  metrics: ARTIFACTS.metrics,
  card: ARTIFACTS.card,
  baseline: ARTIFACTS.baseline,
  schema: ARTIFACTS.schema,
} as const;

const MAX_REASON = 500;
const CHANGE_BODY_BOUNDS: JsonBounds = {
  maxDepth: 4,
  // An API key's models (MAX_KEY_MODELS) and a few more, so that one too many is named by the check.
  maxArrayItems: MAX_KEY_MODELS + 8,
  maxObjectKeys: 16,
  maxStringChars: 1024,
  maxNumberChars: 32,
  maxValues: 256,
};

export class ForbiddenChange extends Error {}
/** The registry's routes (core/declaration.ts): each file of this folder adds its own. */
export const api = declaredApi('registry', logger, keyScope, [[ForbiddenChange, 403]]);
export const route = api.route;

/** A change's body and caller: the caller is the IAM principal (the admin key's principal locally). */
export async function change(ctx: Ctx): Promise<{ body: Record<string, unknown>; actor: Actor }> {
  const who = adminCaller(ctx);
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

/** The IAM principal of an admin route's request (the admin key's principal locally); a 403 without one. */
export function adminCaller(ctx: Ctx): string {
  const who = (ctx.event as APIGatewayProxyEvent).requestContext?.identity?.userArn;
  if (!who) {
    throw new ForbiddenChange('registry changes need the admin credential (IAM, or the local admin key)');
  }
  return who;
}

/**
 * Text the audit log can hold and every reader can show: no control characters but tab and newline (they
 * would rewrite a terminal), and well-formed UTF-16 (a lone surrogate breaks JSON tools such as jq).
 */
export function isPlainText(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return false;
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

export function revision(body: Record<string, unknown>): { expectedRevision?: number } {
  const { expectedRevision } = body;
  if (expectedRevision === undefined) return {};
  if (typeof expectedRevision !== 'number' || !Number.isInteger(expectedRevision) || expectedRevision < 0) {
    throw new InvalidRequestError('"expectedRevision" must be a whole number', 'expectedRevision');
  }
  return { expectedRevision };
}

export function versionField(body: Record<string, unknown>): number {
  const { version } = body;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new InvalidRequestError('"version" must be a version number (1, 2, …)', 'version');
  }
  return version;
}

export async function requireRun(runId: string | undefined): Promise<RunRecord> {
  const run = runId !== undefined && RUN_ID_PATTERN.test(runId) ? await getRun(runId) : undefined;
  if (!run) {
    const id = runId !== undefined && RUN_ID_PATTERN.test(runId) ? runId : quoteName(runId ?? '');
    throw new NotFoundError(`no run ${id}`);
  }
  return run;
}

/** A path's model: a name outside the rule is no model (404, with the valid form), before any table is read. */
export function modelParam(params: Record<string, string>): string {
  const model = params.model ?? '';
  const problem = nameProblem('model', model);
  if (problem) throw new NotFoundError(`no model ${quoteName(model)}: ${problem}`);
  return model;
}

export function datasetParam(params: Record<string, string>): string {
  const name = params.name ?? '';
  const problem = nameProblem('dataset', name);
  if (problem) throw new NotFoundError(`no dataset ${quoteName(name)}: ${problem}`);
  return name;
}

/** A path's alias: a name outside the alias rule is no alias (404) for reads; changes say why (400). */
export function aliasParam(params: Record<string, string>, change = false): string {
  const alias = params.alias ?? '';
  if (ALIAS_PATTERN.test(alias)) return alias;
  const rule = 'an alias is lowercase letters, digits, "-" and "_" (at most 40), starting with a letter';
  if (change) throw new InvalidRequestError(`${quoteName(alias)} is not an alias name: ${rule}`, 'alias');
  throw new NotFoundError(`no alias ${quoteName(alias)}: ${rule}`);
}

export async function requireDatasetVersion(params: Record<string, string>) {
  const name = datasetParam(params);
  const id = params.version ?? '';
  const version = /^[0-9a-f]{1,64}$/.test(id) ? await getDatasetVersion(name, id) : undefined;
  if (!version) throw new NotFoundError(`dataset "${name}" has no version ${quoteName(id)}`);
  return version;
}

/** A path's version: a whole number as decimal digits, as predict's paths take it (`0x8`, `8e0`, ` 8` are none). */
export function versionParam(params: Record<string, string>): number {
  const text = params.version ?? '';
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new NotFoundError(`no version ${quoteName(text)}`);
  return Number(text);
}

export function aliasView(entry: Awaited<ReturnType<typeof listAliases>>[number]) {
  const { alias, state, revision, action, who, why, at } = entry;
  return { alias, ...state, revision, changedBy: who, reason: why, action, changedAt: at };
}
