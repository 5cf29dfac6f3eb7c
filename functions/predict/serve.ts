/**
 * What both of the predict function's protocols (TF Serving REST, tf-serving.ts; the Open Inference Protocol,
 * oip.ts) share: the registry as read at most NIMBUS_ALIAS_CACHE_MS ago, the version a request resolves to
 * (an alias's canary split included), the loaded model, scoring, and the data capture.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { servingRegistry } from '../../aws/alias-cache.ts';
import { DataCapture } from '../../aws/capture.ts';
import { bucketName } from '../../aws/config.ts';
import { loadServable, type ServableModel } from '../../aws/servables.ts';
import { ENV, PRODUCTION_ALIAS } from '../../core/contract.ts';
import { GATEWAY_ERRORS } from '../../core/declaration.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import {
  ALIAS_PATTERN,
  type AliasEntry,
  type ModelVersion,
  routeVersion,
} from '../../core/model-registry.ts';
import { nameProblem, quoteName } from '../../core/names.ts';
import type { RequestFormat } from '../../core/predict-request.ts';
import { isImagePreprocessor } from '../../core/preprocessor.ts';
import { type Prediction, toPredictions, toValuePredictions } from '../../core/serving.ts';
import { eventHeader } from '../http.ts';
import { requireInScope } from '../key-scope.ts';
import { createLogger } from '../logger.ts';

export const logger = createLogger('predict');
const artifactsBucket = bucketName('artifacts');
/** What the registry says, as read at most NIMBUS_ALIAS_CACHE_MS ago (aws/alias-cache.ts). */
export const registry = servingRegistry();
const capture = new DataCapture({
  bucket: artifactsBucket,
  rate: Number(process.env[ENV.captureRate] ?? 0),
  ...(process.env[ENV.captureFlushMs] ? { flushMs: Number(process.env[ENV.captureFlushMs]) } : {}),
  onError: (error) => logger.warn('data capture write failed', { error: error as Error }),
});

/** Writes what the data capture holds (the local platform calls it on stop). */
export const flushCapture = (): Promise<void> => capture.flush();

/** What a request did, for its metrics. */
export interface Outcome {
  /** When the handler took the request (`performance.now()`). */
  readonly started: number;
  model?: string;
  variant?: 'primary' | 'canary';
  instances: number;
  predictions?: readonly Prediction[];
}

/** A model as a path names it: by name, and one version or a label (an alias), or neither (production). */
export interface ModelRoute {
  readonly model: string;
  readonly version?: number;
  readonly label?: string;
}

/** The version that answers a request, the alias it came through (none for a version), the split's side. */
export interface Resolved {
  readonly version: ModelVersion;
  readonly alias?: string;
  readonly variant?: 'primary' | 'canary';
}

/**
 * A 403 for a model the API key does not open (core/api-keys.ts: in the same words whether or not it exists);
 * a 404 for a name outside the rule, a label outside the alias rule, or a model never registered. Only a
 * registered model is a metric dimension, a cache key or a capture folder: a made-up name is a 404 before
 * any of them is touched (metrics then count it for all models only).
 */
export async function requireModel(
  route: ModelRoute,
  event: APIGatewayProxyEvent,
  outcome: Outcome,
): Promise<void> {
  await requireInScope(event, route.model);
  const problem = nameProblem('model', route.model);
  if (problem) throw new NotFoundError(`no model ${quoteName(route.model)}: ${problem}`);
  if (route.label !== undefined && !ALIAS_PATTERN.test(route.label)) {
    throw new NotFoundError(`model "${route.model}" has no label ${quoteName(route.label)}`);
  }
  if (!(await registry.modelExists(route.model))) throw new NotFoundError(`no model "${route.model}"`);
  outcome.model = route.model;
}

/** The version that answers: the one named, or where the label (production by default) sends this request. */
export async function resolve(
  route: ModelRoute,
  event: APIGatewayProxyEvent,
  outcome: Outcome,
): Promise<Resolved> {
  if (route.version !== undefined) return { version: await servingVersion(route.model, route.version) };
  const alias = route.label ?? PRODUCTION_ALIAS;
  const entry = await aliasEntry(route.model, alias);
  const sticky = entry.state.stickyHeader ? eventHeader(event, entry.state.stickyHeader) : undefined;
  const chosen = routeVersion(entry.state, sticky);
  const variant = entry.state.canary
    ? chosen === entry.state.canary.version && chosen !== entry.state.version
      ? 'canary'
      : 'primary'
    : undefined;
  if (variant) outcome.variant = variant;
  return {
    version: await servingVersion(route.model, chosen),
    alias,
    ...(variant === undefined ? {} : { variant }),
  };
}

/** The loaded model of a version (once per container; tfjs loads only for a model that is not dense). */
export function servableOf(version: ModelVersion): Promise<ServableModel> {
  return loadServable(artifactsBucket, version.artifactPrefix);
}

/** The model's answers for input `x`: labels and probabilities, or a regressor's values. */
export async function score(
  servable: ServableModel,
  x: Float32Array,
  outcome: Outcome,
): Promise<readonly Prediction[]> {
  const outputs = await servable.model.predict(x);
  const overflow = outputs.findIndex((row) => row.some((v) => !Number.isFinite(v)));
  if (overflow >= 0) {
    throw new InvalidRequestError(
      `instance ${overflow} cannot be scored: its values overflow the model (far outside the data it was trained on)`,
      undefined,
      overflow,
    );
  }
  const pre = servable.preprocessor;
  const predictions =
    !isImagePreprocessor(pre) && pre.task === 'regression'
      ? toValuePredictions(pre, outputs)
      : toPredictions(pre.classes, outputs);
  outcome.predictions = predictions;
  outcome.instances = predictions.length;
  return predictions;
}

/** Whether this request is one the data capture keeps (decided before it is read: its share of requests). */
export const captureSampled = (): boolean => capture.sampled();

/** Keeps one answered request in the data capture. */
export function captureRecord(
  event: APIGatewayProxyEvent,
  route: ModelRoute,
  resolved: Resolved,
  request: { format: RequestFormat; instances: readonly unknown[]; predictions: readonly Prediction[] },
  outcome: Outcome,
): Promise<void> {
  return capture.record({
    time: new Date().toISOString(),
    ...(event.requestContext?.requestId ? { requestId: event.requestContext.requestId } : {}),
    model: route.model,
    version: resolved.version.version,
    ...(resolved.alias === undefined ? {} : { alias: resolved.alias }),
    ...request,
    latencyMs: Math.round((performance.now() - outcome.started) * 100) / 100,
  });
}

export async function aliasEntry(model: string, alias: string): Promise<AliasEntry> {
  const entry = await registry.currentAlias(model, alias);
  if (!entry) {
    throw new NotFoundError(
      alias === PRODUCTION_ALIAS
        ? `model "${model}" has no version in ${PRODUCTION_ALIAS}`
        : `model "${model}" has no label "${alias}"`,
    );
  }
  return entry;
}

/** The 404 for a path that is none of the protocols', in the gateway's words for a path it has no route for. */
export function noRoute(event: APIGatewayProxyEvent): NotFoundError {
  return new NotFoundError(GATEWAY_ERRORS.noRoute(event.httpMethod, event.path));
}

/** A version that may answer: registered, and not archived. */
export async function servingVersion(model: string, version: number): Promise<ModelVersion> {
  const found = await registry.getModelVersion(model, version);
  if (!found) throw new NotFoundError(`model "${model}" has no version ${version}`);
  if (found.status === 'archived') throw new NotFoundError(`version ${version} of "${model}" is archived`);
  return found;
}

/**
 * A request's wrong fields, with where the model's inputs are described (`GET <metadata>`): the answer to
 * "which fields, of which types?" is one request away. Other errors pass as they are.
 */
export function pointingToInputs(error: unknown, metadata: string): unknown {
  if (
    !(error instanceof InvalidRequestError) ||
    error.field === undefined ||
    error.constructor !== InvalidRequestError
  ) {
    return error;
  }
  return new InvalidRequestError(
    `${error.message} (the model's inputs and their types: GET ${metadata})`,
    error.field,
    error.instance,
    error.problems,
  );
}
