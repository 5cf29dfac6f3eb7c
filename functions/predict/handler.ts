/**
 * The predict function: TF Serving's REST API (tf-serving.ts) under `/v1/models/`, the Open Inference
 * Protocol v2 (oip.ts) under `/v2/`, both on the versions, aliases and canary splits of the model registry
 * (serve.ts). Answers JSON only; a bad request names the instance and field; no stack traces. A sampled share
 * of predictions goes to the data capture (`NIMBUS_CAPTURE_RATE`). Models are loaded once per container; what
 * an alias points at is re-read at most every `NIMBUS_ALIAS_CACHE_MS` (default 1 s), so a promotion serves
 * within that.
 * Input: API Gateway REST proxy event. Output: proxy result.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  batchedModelMetrics,
  createMetrics,
  MetricUnit,
  type PublishModelMetrics,
  publishModelMetrics,
} from '../../aws/metrics.ts';
import { ENV, METRICS } from '../../core/contract.ts';
import {
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../core/errors.ts';
import { proxyApi } from '../http.ts';
import { answerOip } from './oip.ts';
import { logger, noRoute, type Outcome } from './serve.ts';
import { answerTfServing } from './tf-serving.ts';

export { flushCapture } from './serve.ts';

const metrics = createMetrics();
/**
 * Each request's metrics, published before it returns; or, where the platform asks (ENV.metricsBatch: the
 * local platform, whose process outlives every invocation), once per event-loop turn.
 */
const publish: PublishModelMetrics =
  process.env[ENV.metricsBatch] === '1'
    ? batchedModelMetrics(metrics)
    : (model, values, extra) => publishModelMetrics(metrics, model, values, extra);

/**
 * Both protocols' errors: `{"error": "..."}`, with the field and instance a bad request names; a 5xx names
 * the request id, never the cause. Each protocol's answer reads its path itself (every path and method of the
 * resources comes to it), so no router stands between the event and the answer.
 */
const api = proxyApi<Outcome>({
  resource: [],
  logger,
  failure: 'prediction failed',
  errors: [
    [ForbiddenError, 403],
    [PayloadTooLargeError, 413],
    [UnsupportedMediaTypeError, 415],
    [InvalidRequestError, 400],
    [NotFoundError, 404],
  ],
  problem: (error: Error & Partial<Pick<InvalidRequestError, 'field' | 'instance' | 'problems'>>) => ({
    error: error.message,
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.instance === undefined ? {} : { instance: error.instance }),
    ...(error.problems && error.problems.length > 1 ? { problems: error.problems } : {}),
  }),
  notFound: noRoute,
});

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const started = performance.now();
  const outcome: Outcome = { instances: 0, started };
  const protocol = event.path.startsWith('/v2/') || event.path === '/v2' ? answerOip : answerTfServing;
  const result = await api.direct(event, outcome, protocol);
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
    publish(model, [
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
      publish(model, [[METRICS.classPredictions, MetricUnit.Count, count]], {
        [METRICS.dimensions.class]: label,
      });
    }
  } else {
    const type = ERROR_TYPES[status] ?? (fault ? 'Internal' : 'BadRequest');
    publish(model, [[METRICS.fault, MetricUnit.Count, fault]]);
    publish(model, [[METRICS.errors, MetricUnit.Count, 1]], {
      [METRICS.dimensions.errorType]: type,
    });
  }
  if (outcome.variant && (status < 400 || fault)) {
    publish(
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
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  500: 'Internal',
};
