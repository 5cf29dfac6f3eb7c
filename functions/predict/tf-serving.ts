/**
 * TF Serving's REST API on the predict function:
 * - `POST /v1/models/<name>[/versions/<v>|/labels/<alias>]:predict` with rows (`{"instances": [...]}`) or
 *   columns (`{"inputs": {feature: [...]}}`); an image model takes `{"b64": "<PNG/JPEG>"}` instances. The
 *   answer says which version answered (`model_version` and the `x-nimbus-model-version` header):
 *   `{"predictions": [...]}` for rows, `{"outputs": {...}}` for columns.
 * - `POST …:classify` (classifiers) and `…:regress` (regressors), TF Serving's Classify and Regress:
 *   `{"examples": [...], "context": {...}}` → `{"result": [...]}`: every class with its probability, or the value.
 * - `GET /v1/models/<name>[/versions/<v>|/labels/<alias>]`: TF Serving's status of every version (of the one
 *   named, of those the label serves).
 * - `GET …/metadata`: the version's SignatureDef (core/signature.ts: from `schema.json`).
 * Which verbs a model path has and the method each takes (a 405 names it) is TF Serving's rule, read from the
 * path as API Gateway gave it (`API.parseModelPath`).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type {
  ClassifyResponse,
  ModelMetadataResponse,
  ModelStatusResponse,
  PredictResponse,
  RegressResponse,
} from '../../core/api-types.ts';
import { JsonSyntaxError } from '../../core/bounded-json.ts';
import { API } from '../../core/contract.ts';
import { flatten } from '../../core/dense-forward.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { parseImagePredictRequest, requestImagesToInput } from '../../core/image.ts';
import { aliasVersions } from '../../core/model-registry.ts';
import { type RequestFormat, SIGNATURE_NAME } from '../../core/predict-request.ts';
import { type AnyPreprocessor, isImagePreprocessor, transformRow } from '../../core/preprocessor.ts';
import { type InputSchema, MAX_INSTANCES, type Prediction, parsePredictBody } from '../../core/serving.ts';
import { modelSignature, signatureDef } from '../../core/signature.ts';
import { eventBody, jsonResult, nonJsonContent, type ProxyRequest } from '../http.ts';
import {
  aliasEntry,
  captureRecord,
  captureSampled,
  noRoute,
  type Outcome,
  pointingToInputs,
  registry,
  requireModel,
  resolve,
  score,
  servableOf,
} from './serve.ts';

/** One request to a model path: its status, its metadata or a prediction. */
export async function answerTfServing({
  event,
  state: outcome,
}: ProxyRequest<Outcome>): Promise<APIGatewayProxyResult> {
  const route = API.parseModelPath(event.path);
  if (!route || (route.verb !== undefined && !VERBS.has(route.verb))) throw noRoute(event);
  const method = route.verb === undefined || route.verb === 'metadata' ? 'GET' : 'POST';
  if (event.httpMethod !== method) {
    return jsonResult(405, { error: `use ${method} for ${event.path}` }, { Allow: method });
  }
  await requireModel(route, event, outcome);
  if (route.verb === undefined) {
    const status: ModelStatusResponse = { model_version_status: await versionStatus(route) };
    return jsonResult(200, status);
  }

  const resolved = await resolve(route, event, outcome);
  const { version } = resolved;
  const servable = await servableOf(version);
  const answeredBy = { [API.versionHeader]: String(version.version) };
  if (route.verb === 'metadata') {
    const metadata: ModelMetadataResponse = {
      model_spec: { name: route.model, signature_name: '', version: String(version.version) },
      metadata: {
        signature_def: {
          signature_def: { [SIGNATURE_NAME]: signatureDef(modelSignature(servable.schema)) },
        },
      },
    };
    return jsonResult(200, metadata, answeredBy);
  }

  // JSON sent under another content type (curl's -d) is read; a body of another type that is not JSON, 415.
  const otherType = nonJsonContent(event);
  const keep = captureSampled();
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
    throw pointingToInputs(error, event.path.replace(/:(predict|classify|regress)$/, '/metadata'));
  }
  const predictions = await score(servable, x, outcome);
  if (keep) await captureRecord(event, route, resolved, { format, instances, predictions }, outcome);
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

type Route = NonNullable<ReturnType<typeof API.parseModelPath>>;

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
