/**
 * The registry handler (functions/registry/) alone against the emulators: its answers on an empty registry,
 * what it says of what does not exist, and the admin identity and reason that its changes need.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { apiEvent, emulatorFixture, invoke } from './fixture.ts';

describe('the registry handler against the emulators', () => {
  const local = emulatorFixture();
  let registry: Awaited<ReturnType<typeof local.load>>['handler'];
  before(async () => {
    registry = (await local.load('registry')).handler;
  });

  it('lists no models, datasets or runs on an empty registry', async () => {
    for (const [path, empty] of [
      ['/v1/registry/models', { models: [] }],
      ['/v1/registry/datasets', { datasets: [] }],
      ['/v1/registry/runs', { runs: [] }],
    ] as const) {
      const answer = await invoke(registry, apiEvent('GET', path));
      assert.equal(answer.statusCode, 200, `${path}: ${answer.body}`);
      assert.deepEqual(answer.json, empty, path);
    }
  });

  it('answers 404 naming an unknown run, model or dataset (quoted when the name breaks the rules)', async () => {
    const cases = [
      ['/v1/registry/runs/no-such-run', { error: 'no run no-such-run' }],
      ['/v1/registry/runs/no-such-run/progress', { error: 'no run no-such-run' }],
      ['/v1/registry/runs/bad%20run', { error: 'no run "bad run"' }],
      ['/v1/registry/models/nope', { error: 'no model "nope"' }],
      ['/v1/registry/datasets/nope', { error: 'no dataset "nope"' }],
    ] as const;
    for (const [path, error] of cases) {
      const answer = await invoke(registry, apiEvent('GET', path));
      assert.equal(answer.statusCode, 404, `${path}: ${answer.body}`);
      assert.deepEqual(answer.json, error, path);
    }
  });

  it('refuses a change without the admin identity with a 403, and one without a reason with a 400 naming it', async () => {
    const path = '/v1/registry/models/iris/aliases/production';
    const anonymous = await invoke(registry, apiEvent('POST', path, { body: { version: 1, reason: 'r' } }));
    assert.equal(anonymous.statusCode, 403, anonymous.body);
    assert.deepEqual(anonymous.json, {
      error: 'registry changes need the admin credential (IAM, or the local admin key)',
    });
    const stop = await invoke(
      registry,
      apiEvent('POST', '/v1/registry/runs/r1/stop', { body: { reason: 'r' } }),
    );
    assert.equal(stop.statusCode, 403, stop.body);

    const unexplained = await invoke(registry, apiEvent('POST', path, { body: { version: 1 }, admin: true }));
    assert.equal(unexplained.statusCode, 400, unexplained.body);
    assert.deepEqual(unexplained.json, {
      error: '"reason" is required: why this change is made (at most 500 characters), for the audit log',
      field: 'reason',
    });
    const badVersion = await invoke(
      registry,
      apiEvent('POST', path, { body: { version: 'one', reason: 'r' }, admin: true }),
    );
    assert.equal(badVersion.statusCode, 400, badVersion.body);
    assert.deepEqual(badVersion.json, {
      error: '"version" must be a version number (1, 2, …)',
      field: 'version',
    });
  });

  it('answers 404 naming the method and path of a route it does not have', async () => {
    const missing = await invoke(registry, apiEvent('GET', '/v1/registry/nothing-here'));
    assert.equal(missing.statusCode, 404, missing.body);
    assert.deepEqual(missing.json, { error: 'no registry route for GET /v1/registry/nothing-here' });
  });
});
