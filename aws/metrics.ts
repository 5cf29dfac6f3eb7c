/**
 * CloudWatch metrics in the Embedded Metric Format, with Powertools: JSON lines on stdout that CloudWatch Logs
 * turns into metrics in AWS, and that the local substrate reads off the same stream. One namespace and the
 * `service` dimension for all (core/contract.ts METRICS).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import { METRICS } from '../core/contract.ts';

export type { Metrics };
export { MetricUnit };

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
}

/**
 * Publishes metric values of a model at once (one EMF line), with two dimension sets, `[service]` and
 * `[service, model]`, so that an alarm can watch one model or all of them together; or, with extra
 * dimensions, with the one set `[service, model, ...extra]`. Nothing is awaited between adding and
 * publishing, so concurrent requests in one process cannot mix their values.
 */
export function publishModelMetrics(
  metrics: Metrics,
  model: string | undefined,
  values: readonly (readonly [name: string, unit: Unit, value: number])[],
  extraDimensions?: Readonly<Record<string, string>>,
): void {
  if (values.length === 0) return;
  const modelDimension: Record<string, string> = model ? { [METRICS.dimensions.model]: model } : {};
  if (extraDimensions) metrics.addDimensions({ ...modelDimension, ...extraDimensions });
  else {
    metrics.addDimensions({});
    if (model) metrics.addDimensions(modelDimension);
  }
  for (const [name, unit, value] of values) metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}
