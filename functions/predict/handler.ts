/**
 * Predict (and TF Serving's `GET /v1/models/<name>` status and `GET /v1/models/<name>/metadata` signature):
 * `POST /v1/models/<name>:predict` with TF Serving's row format (`{"instances": [{feature: value}]}`,
 * or `{"instances": [{"b64": "<PNG/JPEG>"}]}` for an image model), served by the version that holds the
 * `production` alias. Answers JSON only; a bad request names the instance and field; no stack traces.
 * Input: API Gateway REST proxy event. Output: proxy result.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { bucketName } from '../../aws/config.ts';
import { loadServable } from '../../aws/model-store.ts';
import { getAlias, getModelVersion } from '../../aws/registry.ts';
import { API, ENV, PRODUCTION_ALIAS } from '../../core/contract.ts';
import {
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../core/errors.ts';
import { parseImagePredictRequest, requestImagesToInput } from '../../core/image.ts';
import { flatten, selectBackend } from '../../core/model.ts';
import { isImagePreprocessor, transformRow } from '../../core/preprocess.ts';
import {
  type InputSchema,
  MAX_INSTANCES,
  parsePredictRequest,
  toPredictions,
  toValuePredictions,
} from '../../core/serving.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('predict');
const artifactsBucket = bucketName('artifacts');
/** Started at cold start; awaited per request, so a failure is a 500 answer, not a crash. */
const backend = selectBackend(process.env[ENV.tfBackend]);
backend.catch(() => undefined);

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    const route = API.parseModelPath(event.path);
    if (!route) throw new NotFoundError(`no route for ${event.path}`);
    const method = route.verb === 'predict' ? 'POST' : 'GET';
    if (route.verb !== undefined && route.verb !== 'predict' && route.verb !== 'metadata') {
      throw new NotFoundError(`no route for ${event.httpMethod} ${event.path}`);
    }
    if (event.httpMethod !== method) {
      return json(405, { error: `use ${method} for ${event.path}` }, { Allow: method });
    }
    const alias = await getAlias(route.model, PRODUCTION_ALIAS);
    if (!alias) throw new NotFoundError(`model "${route.model}" has no version in ${PRODUCTION_ALIAS}`);
    const version = await getModelVersion(route.model, alias.version);
    if (!version) throw new NotFoundError(`model "${route.model}" version ${alias.version} does not exist`);
    if (route.verb === undefined) {
      // TF Serving's model status: the version that serves.
      return json(200, {
        model_version_status: [
          {
            version: String(version.version),
            state: 'AVAILABLE',
            status: { error_code: 'OK', error_message: '' },
          },
        ],
      });
    }
    await backend;
    const servable = await loadServable(artifactsBucket, version.artifactPrefix);
    if (route.verb === 'metadata') {
      return json(200, {
        model_spec: {
          name: route.model,
          signature_name: 'serving_default',
          version: String(version.version),
        },
        metadata: { signature_def: servable.schema },
      });
    }

    requireJson(event);
    const body =
      event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const pre = servable.preprocessor;
    const x = isImagePreprocessor(pre)
      ? await requestImagesToInput(parseImagePredictRequest(body, MAX_INSTANCES), pre.image)
      : flatten(
          parsePredictRequest(body, servable.schema as InputSchema).map((row) => transformRow(pre, row)),
        );
    const outputs = servable.model.predict(x);
    const predictions =
      !isImagePreprocessor(pre) && pre.task === 'regression'
        ? toValuePredictions(pre, outputs)
        : toPredictions(pre.classes, outputs);
    return json(200, { predictions, model_version: version.version });
  } catch (error) {
    if (error instanceof InvalidRequestError) {
      const status =
        error instanceof PayloadTooLargeError ? 413 : error instanceof UnsupportedMediaTypeError ? 415 : 400;
      return json(status, {
        error: error.message,
        ...(error.field === undefined ? {} : { field: error.field }),
        ...(error.instance === undefined ? {} : { instance: error.instance }),
      });
    }
    if (error instanceof NotFoundError) return json(404, { error: error.message });
    logger.error('prediction failed', { error: error as Error, requestId: event.requestContext?.requestId });
    return json(500, { error: 'internal error', requestId: event.requestContext?.requestId });
  }
}

/** A predict body must say it is JSON (`application/json`, or any `+json` type); no content type is taken as JSON. */
function requireJson(event: APIGatewayProxyEvent): void {
  const header = Object.entries(event.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'content-type',
  )?.[1];
  if (header === undefined || header === '') return;
  const type = header.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(`send the request as application/json, not ${type}`, 'content-type');
  }
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
