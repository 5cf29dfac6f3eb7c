/**
 * The Open Inference Protocol (v2: KServe's, Triton's, MLServer's REST API) on the predict function, with the
 * TF Serving routes' auth, versions, canary split, data capture and metrics:
 * - `GET /v2` (the server), `GET /v2/health/live`, `GET /v2/health/ready`;
 * - `GET /v2/models/<name>[/versions/<v>]`: the model's metadata — its versions, inputs and outputs (name,
 *   datatype, shape; core/signature.ts);
 * - `GET …/ready`: whether that version (or production's) can answer now;
 * - `POST …/infer`: tensors in (core/oip-request.ts), `outputs` out — a classifier's `probabilities` (FP32
 *   `[N, C]`, the classes in the tensor's `parameters`) and `label` (BYTES `[N]`), a regressor's `value` (FP32
 *   `[N]`) — the request's `id` echoed.
 * Without a version, the production alias answers (and its canary takes its share). Errors are `{"error": …}`.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type {
  V2InferenceResponse,
  V2ModelMetadata,
  V2ModelReady,
  V2ServerLive,
  V2ServerMetadata,
  V2ServerReady,
  V2Tensor,
} from '../../core/api-types.ts';
import { API, PRODUCTION_ALIAS } from '../../core/contract.ts';
import { flatten } from '../../core/dense-forward.ts';
import { NotFoundError, UnsupportedMediaTypeError } from '../../core/errors.ts';
import { base64Image, requestImagesToInput } from '../../core/image.ts';
import { aliasVersions } from '../../core/model-registry.ts';
import { type InferRequest, parseImageInferRequest, parseInferRequest } from '../../core/oip-request.ts';
import { isImagePreprocessor, transformRow } from '../../core/preprocessor.ts';
import type { ImageInputSchema, InputSchema, Prediction } from '../../core/serving.ts';
import { modelSignature, v2Tensors } from '../../core/signature.ts';
import { eventBody, eventHeader, jsonResult, type ProxyRequest } from '../http.ts';
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

/** The header of the protocol's binary tensor data extension (a body that is not all JSON). */
const BINARY_EXTENSION_HEADER = 'inference-header-content-length';

const SERVER: V2ServerMetadata = { name: 'nimbus-ml', version: '0.1.0', extensions: [] };

export async function answerOip({
  event,
  state: outcome,
}: ProxyRequest<Outcome>): Promise<APIGatewayProxyResult> {
  const route = API.parseV2Path(event.path);
  if (!route) throw noRoute(event);
  const method = route.kind === 'model' && route.verb === 'infer' ? 'POST' : 'GET';
  if (event.httpMethod !== method) {
    return jsonResult(405, { error: `use ${method} for ${event.path}` }, { Allow: method });
  }
  if (route.kind === 'server') return jsonResult(200, SERVER);
  if (route.kind === 'health') {
    // The function answers, so it is live; ready once the backend loaded and the registry answers.
    if (route.check === 'live') return jsonResult(200, { live: true } satisfies V2ServerLive);
    await registry.modelExists(SERVER.name);
    return jsonResult(200, { ready: true } satisfies V2ServerReady);
  }

  await requireModel(route, event, outcome);
  if (route.verb === undefined) return jsonResult(200, await metadata(route.model, route.version));
  if (route.verb === 'ready') {
    const ready: V2ModelReady = { name: route.model, ready: await isReady(route.model, route.version) };
    return jsonResult(200, ready);
  }

  if (eventHeader(event, BINARY_EXTENSION_HEADER) !== undefined) {
    throw new UnsupportedMediaTypeError(
      "the binary tensor data extension is not supported: send the tensors' data as JSON",
    );
  }
  const resolved = await resolve(route, event, outcome);
  const servable = await servableOf(resolved.version);
  const keep = captureSampled();
  const pre = servable.preprocessor;
  const body = eventBody(event);
  let request: InferRequest;
  let x: Float32Array;
  let instances: readonly unknown[] = [];
  if (isImagePreprocessor(pre)) {
    const decode = (b64: string, where: string, index: number) => base64Image(b64, where, 'data', index);
    const parsed = await parseImageInferRequest(body, servable.schema as ImageInputSchema, decode);
    request = parsed;
    x = await requestImagesToInput(parsed.images, pre.image);
  } else {
    const parsed = await parseInferRequest(body, servable.schema as InputSchema).catch((error: unknown) => {
      throw pointingToInputs(error, event.path.replace(/\/infer$/, ''));
    });
    request = parsed;
    instances = parsed.rows;
    x = flatten(parsed.rows.map((row) => transformRow(pre, row)));
  }
  const predictions = await score(servable, x, outcome);
  if (keep) await captureRecord(event, route, resolved, { format: 'rows', instances, predictions }, outcome);
  const classes = isImagePreprocessor(pre) || pre.task !== 'regression' ? pre.classes : undefined;
  const outputs = outputTensors(predictions, classes).filter(
    (tensor) => request.outputs === undefined || request.outputs.includes(tensor.name),
  );
  const answer: V2InferenceResponse = {
    model_name: route.model,
    model_version: String(resolved.version.version),
    ...(request.id === undefined ? {} : { id: request.id }),
    outputs,
  };
  return jsonResult(200, answer, { [API.versionHeader]: String(resolved.version.version) });
}

/** The model's tensors, and its versions that may answer (all of them, or the one the path names). */
async function metadata(model: string, version: number | undefined): Promise<V2ModelMetadata> {
  const versions = (await registry.listModelVersions(model)).filter((v) => v.status !== 'archived');
  const chosen =
    version === undefined
      ? (await aliasEntry(model, PRODUCTION_ALIAS)).state.version
      : (versions.find((v) => v.version === version)?.version ?? notFound(model, version));
  const described = versions.find((v) => v.version === chosen);
  if (!described) notFound(model, chosen);
  const signature = modelSignature((await servableOf(described)).schema);
  return {
    name: model,
    versions: version === undefined ? versions.map((v) => String(v.version)) : [String(version)],
    platform: 'nimbus-ml',
    inputs: v2Tensors(signature.inputs),
    outputs: v2Tensors(signature.outputs),
  };
}

/**
 * Ready: the version (production's, and its canary's, without one) is registered, not archived, and its
 * model loads. A version that does not exist is a 404; one that cannot answer is `false`.
 */
async function isReady(model: string, version: number | undefined): Promise<boolean> {
  const numbers =
    version === undefined
      ? aliasVersions((await registry.currentAlias(model, PRODUCTION_ALIAS))?.state)
      : [version];
  if (numbers.length === 0) return false;
  for (const number of numbers) {
    const found = await registry.getModelVersion(model, number);
    if (!found) throw new NotFoundError(`model "${model}" has no version ${number}`);
    if (found.status === 'archived') return false;
    const loaded = await servableOf(found).then(
      () => true,
      () => false,
    );
    if (!loaded) return false;
  }
  return true;
}

function notFound(model: string, version: number): never {
  throw new NotFoundError(`model "${model}" has no version ${version}`);
}

/** The answers as tensors: a regressor's `value`, a classifier's `label` and `probabilities` (classes in order). */
function outputTensors(
  predictions: readonly Prediction[],
  classes: readonly string[] | undefined,
): V2Tensor[] {
  const n = predictions.length;
  if (!classes) {
    return [
      {
        name: 'value',
        datatype: 'FP32',
        shape: [n],
        data: predictions.map((p) => (p as { value: number }).value),
      },
    ];
  }
  const rows = predictions as readonly { label: string; probabilities: Record<string, number> }[];
  return [
    { name: 'label', datatype: 'BYTES', shape: [n], data: rows.map((p) => p.label) },
    {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [n, classes.length],
      parameters: { classes: [...classes] },
      data: rows.flatMap((p) => classes.map((c) => p.probabilities[c] ?? 0)),
    },
  ];
}
