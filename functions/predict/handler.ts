/**
 * The predict API, on TF Serving's REST paths:
 * - `POST /v1/models/<name>[/versions/<v>|/labels/<alias>]:predict` with rows (`{"instances": [...]}`) or
 *   columns (`{"inputs": {feature: [...]}}`); an image model takes `{"b64": "<PNG/JPEG>"}` instances.
 *   Without a version or label, the `production` alias answers. An alias with a canary sends the canary's
 *   share of requests to it (by a hash of the sticky header's value when the alias has one and the request
 *   carries it). The answer says which version answered (`model_version` and the `x-nimbus-model-version`
 *   header): `{"predictions": [...]}` for rows, `{"outputs": {...}}` for columns.
 * - `POST …:classify` (classifiers) and `…:regress` (regressors), TF Serving's Classify and Regress:
 *   `{"examples": [...], "context": {...}}` → `{"result": [...]}`: every class with its probability, or the value.
 * - `GET /v1/models/<name>[/versions/<v>|/labels/<alias>]`: TF Serving's status of every version (of the one
 *   named, of those the label serves).
 * - `GET …/metadata`: the version's SignatureDef (core/signature.ts: from `schema.json`).
 * Answers JSON only; a bad request names the instance and field; no stack traces. A sampled share of
 * predictions goes to the data capture (`NIMBUS_CAPTURE_RATE`).
 * Models are loaded once per container; what an alias points at is re-read at most every
 * `NIMBUS_ALIAS_CACHE_MS` (default 1 s), so a promotion serves within that.
 * Input: API Gateway REST proxy event. Output: proxy result.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { servingRegistry } from '../../aws/alias-cache.ts';
import { DataCapture } from '../../aws/capture.ts';
import { bucketName } from '../../aws/config.ts';
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { loadServable } from '../../aws/servables.ts';
import type {
  ClassifyResponse,
  ModelMetadataResponse,
  ModelStatusResponse,
  PredictResponse,
  RegressResponse,
} from '../../core/api-types.ts';
import { JsonSyntaxError } from '../../core/bounded-json.ts';
import { API, ENV, METRICS, PRODUCTION_ALIAS } from '../../core/contract.ts';
import {
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../core/errors.ts';
import { parseImagePredictRequest, requestImagesToInput } from '../../core/image.ts';
import { flatten } from '../../core/model-data.ts';
import {
  ALIAS_PATTERN,
  type AliasEntry,
  aliasVersions,
  type ModelVersion,
  routeVersion,
} from '../../core/model-registry.ts';
import { nameProblem, quoteName } from '../../core/names.ts';
import type { RequestFormat } from '../../core/predict-request.ts';
import { type AnyPreprocessor, isImagePreprocessor, transformRow } from '../../core/preprocessor.ts';
import {
  type InputSchema,
  MAX_INSTANCES,
  type Prediction,
  parsePredictBody,
  toPredictions,
  toValuePredictions,
} from '../../core/serving.ts';
import { modelSignature, SERVING_DEFAULT, signatureDef } from '../../core/signature.ts';
import { selectBackend } from '../../core/tfjs.ts';
import {
  eventBody,
  eventHeader,
  jsonResult,
  nonJsonContent,
  type ProxyRequest,
  proxyApi,
  ROUTER_METHODS,
} from '../http.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('predict');
const metrics = createMetrics();
const artifactsBucket = bucketName('artifacts');
/** Started at cold start; awaited per request, so a failure is a 500 answer, not a crash. */
const backend = selectBackend(process.env[ENV.tfBackend]);
backend.catch(() => undefined);
/** What the registry says, as read at most NIMBUS_ALIAS_CACHE_MS ago (aws/alias-cache.ts). */
const registry = servingRegistry();
const capture = new DataCapture({
  bucket: artifactsBucket,
  rate: Number(process.env[ENV.captureRate] ?? 0),
  ...(process.env[ENV.captureFlushMs] ? { flushMs: Number(process.env[ENV.captureFlushMs]) } : {}),
  onError: (error) => logger.warn('data capture write failed', { error: error as Error }),
});

/** Writes what the data capture holds (the local platform calls it on stop). */
export const flushCapture = (): Promise<void> => capture.flush();

/** What a request did, for its metrics. */
interface Outcome {
  /** When the handler took the request (`performance.now()`). */
  readonly started: number;
  model?: string;
  variant?: 'primary' | 'canary';
  instances: number;
  predictions?: readonly Prediction[];
}

/**
 * TF Serving's errors: `{"error": "..."}`, with the field and instance a bad request names; a 5xx names the
 * request id, never the cause. Which verbs a model path has and the method each takes (a 405 names it) is TF
 * Serving's rule, read from the path as API Gateway gave it (`API.parseModelPath`): the router hands every
 * path under the resource to `answer`, and answers the rest (`/v1/models/`) 404.
 */
const api = proxyApi<Outcome>({
  resource: API.modelsResource,
  logger,
  failure: 'prediction failed',
  errors: [
    [PayloadTooLargeError, 413],
    [UnsupportedMediaTypeError, 415],
    [InvalidRequestError, 400],
    [NotFoundError, 404],
  ],
  problem: (error: Error & { field?: string; instance?: number }) => ({
    error: error.message,
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.instance === undefined ? {} : { instance: error.instance }),
  }),
  notFound: noRoute,
});
api.route(ROUTER_METHODS, /\/.+/, answer);

export async function handler(
  event: APIGatewayProxyEvent,
  context?: Context,
): Promise<APIGatewayProxyResult> {
  const started = performance.now();
  const outcome: Outcome = { instances: 0, started };
  // The fast path: a prediction is answered without the router, with the same error answers (`api.direct`);
  // `answer` checks the path and the method itself, so both ways give the same answers. The router (the
  // event made a web Request, the answer a Response and back) costs 60-90 µs a request with nothing else in
  // the call, against the 400-800 µs of a whole prediction under load on a 2-core machine: with every
  // request through it, bench:serving's platform/peer ratio was 0.05 and 0.04; with this path 0.07 and 0.08,
  // as before the router (0.09 and 0.06; same machine, same half hour, heavily loaded).
  const result =
    event.httpMethod === 'POST' && /:(predict|classify|regress)$/.test(event.path)
      ? await api.direct(event, outcome, answer)
      : await api.handle(event, outcome, answer, context);
  record(outcome, result.statusCode, performance.now() - started);
  return result;
}

/**
 * Metrics of one request: on a prediction, `Predictions`, `Instances`, `PredictLatency` and `Fault` (0) by
 * model and for all, the same by variant when a canary split answered, and the predicted classes; on an
 * error, `PredictErrors` by type and, for a 5xx, `Fault` 1.
 */
function record(outcome: Outcome, status: number, latencyMs: number): void {
  const { model } = outcome;
  const fault = status >= 500 ? 1 : 0;
  if (status < 400 && outcome.predictions) {
    publishModelMetrics(metrics, model, [
      [METRICS.predictions, MetricUnit.Count, 1],
      [METRICS.instances, MetricUnit.Count, outcome.instances],
      [METRICS.latency, MetricUnit.Milliseconds, latencyMs],
      [METRICS.fault, MetricUnit.Count, 0],
    ]);
    const classes = new Map<string, number>();
    for (const p of outcome.predictions) {
      if ('label' in p) classes.set(p.label, (classes.get(p.label) ?? 0) + 1);
    }
    for (const [label, count] of classes) {
      publishModelMetrics(metrics, model, [[METRICS.classPredictions, MetricUnit.Count, count]], {
        [METRICS.dimensions.class]: label,
      });
    }
  } else {
    const type = ERROR_TYPES[status] ?? (fault ? 'Internal' : 'BadRequest');
    publishModelMetrics(metrics, model, [[METRICS.fault, MetricUnit.Count, fault]]);
    publishModelMetrics(metrics, model, [[METRICS.errors, MetricUnit.Count, 1]], {
      [METRICS.dimensions.errorType]: type,
    });
  }
  if (outcome.variant && (status < 400 || fault)) {
    publishModelMetrics(
      metrics,
      model,
      [
        [METRICS.latency, MetricUnit.Milliseconds, latencyMs],
        [METRICS.fault, MetricUnit.Count, fault],
      ],
      { [METRICS.dimensions.variant]: outcome.variant },
    );
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  500: 'Internal',
};

/** One request to a model path: its status, its metadata or a prediction. */
async function answer({ event, state: outcome }: ProxyRequest<Outcome>): Promise<APIGatewayProxyResult> {
  const route = API.parseModelPath(event.path);
  if (!route || (route.verb !== undefined && !VERBS.has(route.verb))) throw noRoute(event);
  const method = route.verb === undefined || route.verb === 'metadata' ? 'GET' : 'POST';
  if (event.httpMethod !== method) {
    return jsonResult(405, { error: `use ${method} for ${event.path}` }, { Allow: method });
  }
  // Only a registered model is a metric dimension, a cache key or a capture folder: a made-up name is a
  // 404 before any of them is touched (metrics then count it for all models only).
  await requireModel(route);
  outcome.model = route.model;
  if (route.verb === undefined) {
    const status: ModelStatusResponse = { model_version_status: await versionStatus(route) };
    return jsonResult(200, status);
  }

  const { version, alias, variant } = await resolve(route, event);
  if (variant) outcome.variant = variant;
  await backend;
  const servable = await loadServable(artifactsBucket, version.artifactPrefix);
  const answeredBy = { [API.versionHeader]: String(version.version) };
  if (route.verb === 'metadata') {
    const metadata: ModelMetadataResponse = {
      model_spec: { name: route.model, signature_name: '', version: String(version.version) },
      metadata: {
        signature_def: {
          signature_def: { [SERVING_DEFAULT]: signatureDef(modelSignature(servable.schema)) },
        },
      },
    };
    return jsonResult(200, metadata, answeredBy);
  }

  // JSON sent under another content type (curl's -d) is read; a body of another type that is not JSON, 415.
  const otherType = nonJsonContent(event);
  const keep = capture.sampled();
  const body = eventBody(event);
  const pre = servable.preprocessor;
  let format: RequestFormat = 'rows';
  let instances: readonly unknown[] = [];
  let x: Float32Array;
  const verb = route.verb as 'predict' | 'classify' | 'regress';
  if (verb !== 'predict') checkTask(verb, pre);
  try {
    if (isImagePreprocessor(pre)) {
      x = await requestImagesToInput(await parseImagePredictRequest(body, MAX_INSTANCES), pre.image);
    } else {
      const shape = verb === 'predict' ? 'predict' : 'examples';
      const parsed = await parsePredictBody(body, servable.schema as InputSchema, shape);
      format = parsed.format;
      instances = parsed.rows;
      x = flatten(parsed.rows.map((row) => transformRow(pre, row)));
    }
  } catch (error) {
    if (otherType && error instanceof JsonSyntaxError) throw otherType;
    throw error;
  }
  const outputs = servable.model.predict(x);
  const overflow = outputs.findIndex((row) => row.some((v) => !Number.isFinite(v)));
  if (overflow >= 0) {
    throw new InvalidRequestError(
      `instance ${overflow} cannot be scored: its values overflow the model (far outside the data it was trained on)`,
      undefined,
      overflow,
    );
  }
  const predictions =
    !isImagePreprocessor(pre) && pre.task === 'regression'
      ? toValuePredictions(pre, outputs)
      : toPredictions(pre.classes, outputs);
  outcome.predictions = predictions;
  outcome.instances = predictions.length;
  if (keep) {
    await capture.record({
      time: new Date().toISOString(),
      ...(event.requestContext?.requestId ? { requestId: event.requestContext.requestId } : {}),
      model: route.model,
      version: version.version,
      ...(alias === undefined ? {} : { alias }),
      format,
      instances,
      predictions,
      latencyMs: Math.round((performance.now() - outcome.started) * 100) / 100,
    });
  }
  if (verb === 'classify') {
    const classified: ClassifyResponse = {
      result: (predictions as readonly { probabilities: Record<string, number> }[]).map((p) =>
        Object.entries(p.probabilities),
      ),
    };
    return jsonResult(200, classified, answeredBy);
  }
  if (verb === 'regress') {
    const regressed: RegressResponse = { result: predictions.map((p) => (p as { value: number }).value) };
    return jsonResult(200, regressed, answeredBy);
  }
  const answer: PredictResponse =
    format === 'rows'
      ? { predictions, model_version: version.version }
      : { outputs: columns(predictions), model_version: version.version };
  return jsonResult(200, answer, answeredBy);
}

/** TF Serving's verbs of a model path (and none: its status). */
const VERBS = new Set(['predict', 'classify', 'regress', 'metadata']);

/** `:classify` is a classifier's, `:regress` a regressor's; an image model answers `:predict` only. */
function checkTask(verb: 'classify' | 'regress', pre: AnyPreprocessor): void {
  if (isImagePreprocessor(pre)) {
    throw new InvalidRequestError(`an image model answers :predict, not :${verb}`, 'examples');
  }
  const regressor = pre.task === 'regression';
  if (regressor !== (verb === 'regress')) {
    throw new InvalidRequestError(
      `the model is a ${regressor ? 'regressor' : 'classifier'}: use :${regressor ? 'regress' : 'classify'} (or :predict)`,
      'examples',
    );
  }
}

/** The 404 for a path that is none of TF Serving's. */
function noRoute(event: APIGatewayProxyEvent): NotFoundError {
  return new NotFoundError(`no route for ${event.httpMethod} ${event.path}`);
}

type Route = NonNullable<ReturnType<typeof API.parseModelPath>>;

/** The version that answers this request, and the alias it came through (none for `/versions/<v>`). */
async function resolve(
  route: Route,
  event: APIGatewayProxyEvent,
): Promise<{ version: ModelVersion; alias?: string; variant?: 'primary' | 'canary' }> {
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
  return {
    version: await servingVersion(route.model, chosen),
    alias,
    ...(variant === undefined ? {} : { variant }),
  };
}

/**
 * TF Serving's model status: every version of the model, the one the path names, or those its label sends
 * requests to; `AVAILABLE` while a version may serve (`/versions/<v>` answers with it), `END` once archived.
 */
async function versionStatus(route: Route): Promise<ModelStatusResponse['model_version_status']> {
  const status = (version: number, archived: boolean) => ({
    version: String(version),
    state: archived ? ('END' as const) : ('AVAILABLE' as const),
    status: { error_code: 'OK' as const, error_message: '' },
  });
  if (route.label !== undefined) {
    return aliasVersions((await aliasEntry(route.model, route.label)).state).map((v) => status(v, false));
  }
  if (route.version !== undefined) {
    const found = await registry.getModelVersion(route.model, route.version);
    if (!found) throw new NotFoundError(`model "${route.model}" has no version ${route.version}`);
    return [status(found.version, found.status === 'archived')];
  }
  const versions = await registry.listModelVersions(route.model);
  return versions.map((v) => status(v.version, v.status === 'archived'));
}

/** Columnar outputs: `{label: [...], probabilities: {class: [...]}}` or `{value: [...]}`. */
function columns(predictions: readonly Prediction[]): NonNullable<PredictResponse['outputs']> {
  if (predictions.length > 0 && 'value' in (predictions[0] as Prediction)) {
    return { value: predictions.map((p) => (p as { value: number }).value) };
  }
  const rows = predictions as readonly { label: string; probabilities: Record<string, number> }[];
  const classes = Object.keys(rows[0]?.probabilities ?? {});
  return {
    label: rows.map((p) => p.label),
    probabilities: Object.fromEntries(classes.map((c) => [c, rows.map((p) => p.probabilities[c] ?? 0)])),
  };
}

// ---- what the registry says (read at most NIMBUS_ALIAS_CACHE_MS ago) -------------------------------------

/** A 404 for a name outside the rule, a label outside the alias rule, or a model never registered. */
async function requireModel(route: Route): Promise<void> {
  const problem = nameProblem('model', route.model);
  if (problem) throw new NotFoundError(`no model ${quoteName(route.model)}: ${problem}`);
  if (route.label !== undefined && !ALIAS_PATTERN.test(route.label)) {
    throw new NotFoundError(`model "${route.model}" has no label ${quoteName(route.label)}`);
  }
  if (!(await registry.modelExists(route.model))) {
    throw new NotFoundError(`no model "${route.model}"`);
  }
}

async function aliasEntry(model: string, alias: string): Promise<AliasEntry> {
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

async function servingVersion(model: string, version: number): Promise<ModelVersion> {
  const found = await registry.getModelVersion(model, version);
  if (!found) throw new NotFoundError(`model "${model}" has no version ${version}`);
  if (found.status === 'archived') throw new NotFoundError(`version ${version} of "${model}" is archived`);
  return found;
}
