/**
 * The monitoring handler (functions/monitoring/handler.ts) alone against the emulators: no alarms and no drift
 * reports yet, and the query parameters it refuses, by name.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DRIFT_THRESHOLD } from '../../core/drift.ts';
import { apiEvent, emulatorFixture, invoke } from './fixture.ts';

describe('the monitoring handler against the emulators', () => {
  const local = emulatorFixture();
  let monitoring: Awaited<ReturnType<typeof local.load>>['handler'];
  before(async () => {
    monitoring = (await local.load('monitoring')).handler;
  });

  it('lists no alarms and no alarm history, and no drift reports for a model without any', async () => {
    const alarms = await invoke(monitoring, apiEvent('GET', '/v1/monitoring/alarms'));
    assert.equal(alarms.statusCode, 200, alarms.body);
    assert.deepEqual(alarms.json, { alarms: [] });
    const history = await invoke(monitoring, apiEvent('GET', '/v1/monitoring/alarms/history'));
    assert.equal(history.statusCode, 200, history.body);
    assert.deepEqual(history.json, { history: [] });
    const drift = await invoke(monitoring, apiEvent('GET', '/v1/monitoring/models/iris/drift'));
    assert.equal(drift.statusCode, 200, drift.body);
    assert.deepEqual(drift.json, { model: 'iris', threshold: DRIFT_THRESHOLD, reports: [] });
  });

  it('refuses a drift `since` that is no time from 1970 to 9999 with a 400 naming the field', async () => {
    for (const since of ['yesterday', '1969-12-31T23:59:59Z', '+010000-01-01T00:00:00Z']) {
      const answer = await invoke(
        monitoring,
        apiEvent('GET', `/v1/monitoring/models/iris/drift?since=${encodeURIComponent(since)}`),
      );
      assert.equal(answer.statusCode, 400, `${since}: ${answer.body}`);
      assert.deepEqual(answer.json, {
        error: `"since" must be an ISO 8601 time from 1970 to 9999, not ${JSON.stringify(since)}`,
        field: 'since',
      });
    }
  });

  it('refuses a `limit` that is not a whole number from 1 to 9999, and a model name outside the rules', async () => {
    for (const path of [
      '/v1/monitoring/alarms/history?limit=0',
      '/v1/monitoring/models/iris/drift?limit=x',
    ]) {
      const answer = await invoke(monitoring, apiEvent('GET', path));
      assert.equal(answer.statusCode, 400, `${path}: ${answer.body}`);
      assert.deepEqual(answer.json, {
        error: '"limit" must be a whole number from 1 to 9999',
        field: 'limit',
      });
    }
    const badName = await invoke(monitoring, apiEvent('GET', '/v1/monitoring/models/Bad%20Name/drift'));
    assert.equal(badName.statusCode, 404, badName.body);
    assert.match(
      (badName.json as { error: string }).error,
      /^no model "Bad Name": model name "Bad Name" is not valid/,
    );
  });
});
