/** The local CloudWatch's reading of EMF lines (local/monitoring.ts). Drift and alarms: unit/monitoring.test.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METRICS } from '../../core/contract.ts';
import { MetricStore } from '../../local/monitoring.ts';

describe('local metrics', () => {
  it('reads EMF blobs into one series per dimension set, and passes other lines by', () => {
    const store = new MetricStore();
    const line = JSON.stringify({
      _aws: {
        Timestamp: 1000,
        CloudWatchMetrics: [
          {
            Namespace: METRICS.namespace,
            Dimensions: [['service'], ['service', 'model']],
            Metrics: [{ Name: 'PredictLatency', Unit: 'Milliseconds' }],
          },
        ],
      },
      service: METRICS.service,
      model: 'iris',
      PredictLatency: [3, 4],
    });
    assert.equal(store.ingestLine(line), true);
    assert.equal(store.ingestLine('{"level":"INFO"}'), false);
    assert.deepEqual(store.datapoints('PredictLatency', { service: METRICS.service }), [
      { at: 1000, value: 3 },
      { at: 1000, value: 4 },
    ]);
    assert.equal(store.datapoints('PredictLatency', { model: 'iris', service: METRICS.service }).length, 2);
    assert.deepEqual([...store.models], ['iris']);
  });
});
