/**
 * The registry as a careless or hostile client changes it, against the live local platform: a promote and an
 * archive of the same version at once, version numbers and reasons that are not what they seem, wrong admin keys
 * of every length, and a fuzzer over the registry, monitoring and predict routes. Each must end in a clear 4xx
 * (no stack trace, never a 5xx), with the platform still answering. Bodies, names and values: hostile-api.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { API } from '../../core/contract.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { localPlatformFixture } from '../helpers.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');

describe('hostile clients of the APIs', () => {
  // Every prediction captured, so that a capture folder for a made-up name would show.
  const local = localPlatformFixture({ captureRate: 1, captureFlushMs: 50 });

  before(async () => {
    await local.client.upload('datasets/iris/iris.csv', readFileSync(IRIS));
    const [run] = await local.client.waitForRuns('iris', 1);
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
  });

  it('lets one of a promote and an archive of the same version land, never both', async () => {
    const { client } = local;
    // A second version, so that one of the two serves nothing yet.
    const lines = readFileSync(IRIS, 'utf8').trim().split(/\r?\n/);
    await client.upload(
      'datasets/iris/iris-reordered.csv',
      [lines[0], ...lines.slice(1).reverse()].join('\n'),
    );
    const runs = await client.waitForRuns('iris', 2);
    assert.ok(
      runs.every((r) => r.status === 'SUCCEEDED'),
      JSON.stringify(runs.map((r) => r.reason)),
    );
    const production = await client.registryJson<{ version: number }>('/models/iris/aliases/production');
    const free = production.version === 1 ? 2 : 1;
    const [promoted, archived] = await Promise.all([
      client.registry('/models/iris/aliases/race', { version: free, reason: 'race' }),
      client.registry(`/models/iris/versions/${free}/archive`, { reason: 'race' }),
    ]);
    assert.deepEqual(
      [promoted.status, archived.status].sort(),
      [200, 409],
      `promote ${promoted.status} ${await promoted.text()}; archive ${archived.status} ${await archived.text()}`,
    );
    const version = await client.registryJson<{ status: string }>(`/models/iris/versions/${free}`);
    const race = await client.registry('/models/iris/aliases/race');
    if (version.status === 'archived')
      assert.equal(race.status, 404, 'no alias points at an archived version');
    else assert.equal(((await race.json()) as { version: number }).version, free);
  });

  it('takes registry version numbers only as decimal digits, and reasons only as text', async () => {
    const { client } = local;
    assert.equal((await client.registry('/models/iris/versions/1')).status, 200);
    for (const version of ['0x1', '1e0', '%201', '0b1', '1.0', '01']) {
      assert.equal((await client.registry(`/models/iris/versions/${version}`)).status, 404, version);
    }
    for (const reason of ['\u001b[2J spoofed', 'a\rb', '\ud800', 'nul\u0000']) {
      const response = await client.registry('/models/iris/aliases/text', { version: 1, reason });
      assert.equal(response.status, 400, JSON.stringify(reason));
      assert.match(await response.text(), /reason\\" must be text/);
    }
    assert.equal(
      (await client.registry('/models/iris/aliases/text', { version: 1, reason: 'two\nlines\tok' })).status,
      200,
    );
  });

  it('refuses every wrong admin key, whatever its length, and takes the right one', async () => {
    const { client } = local;
    const { adminKey } = client.endpoints;
    const keys = ['', 'x', adminKey.slice(0, -1), `${adminKey}x`, adminKey.toUpperCase(), 'k'.repeat(4096)];
    for (const key of keys.filter((k) => k !== adminKey)) {
      const response = await client.registry(
        '/models/iris/aliases/staging',
        { version: 1, reason: 't' },
        { adminKey: key },
      );
      assert.equal(response.status, 403, `key of length ${key.length}`);
    }
    const ok = await client.registry('/models/iris/aliases/staging', { version: 1, reason: 'hostile suite' });
    assert.equal(ok.status, 200, await ok.text());
  });

  it('never answers 5xx to fuzzed paths, queries and bodies on the registry, monitoring and predict APIs', async () => {
    const { client } = local;
    const { endpoints } = client;
    const segment = fc.oneof(
      fc.constantFrom(
        'iris',
        'models',
        'versions',
        'aliases',
        'runs',
        'datasets',
        'artifacts',
        'history',
        'audit',
      ),
      fc.constantFrom(
        '1',
        '0',
        '-1',
        '99999999999',
        '1e3',
        'production',
        'staging',
        'metrics',
        'card',
        'drift',
      ),
      fc.constantFrom(
        'approve',
        'reject',
        'archive',
        'canary',
        'rollback',
        'stop',
        'retry',
        'progress',
        'report',
      ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('x'.repeat(3000), '..', '.', '%2e%2e', '%00', '%ff', '__proto__', 'constructor'),
    );
    const path = fc.array(segment, { minLength: 1, maxLength: 6 });
    const query = fc.dictionary(
      fc.constantFrom('limit', 'dataset', 'since', 'at', 'x'),
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom(
          '0',
          '10000',
          '-1',
          'x'.repeat(2000),
          '2026-01-01',
          '-271821-04-20T00:00:00.000Z',
          '+275760-09-13T00:00:00.000Z',
          '1969-12-31T23:59:59Z',
        ),
      ),
      { maxKeys: 3 },
    );
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        version: fc.oneof(fc.integer(), fc.double(), fc.string()),
        reason: fc.oneof(fc.string({ maxLength: 600 }), fc.constant('')),
        weight: fc.oneof(fc.double(), fc.integer()),
        stickyHeader: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
        expectedRevision: fc.oneof(fc.integer(), fc.double()),
      }),
    );
    const encode = (parts: readonly string[]) =>
      parts
        .map((p) => {
          try {
            return encodeURIComponent(p);
          } catch {
            return 'x'; // a lone surrogate
          }
        })
        .join('/');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('registry', 'monitoring', 'models'),
        path,
        query,
        fc.option(body, { nil: undefined }),
        fc.boolean(),
        async (api, parts, params, payload, verb) => {
          const search = new URLSearchParams(params).toString();
          const suffix = api === 'models' && verb ? `:${parts.length % 2 ? 'predict' : 'metadata'}` : '';
          const url = `${endpoints.api}/v1/${api}/${encode(parts)}${suffix}${search ? `?${search}` : ''}`;
          const init: RequestInit =
            payload === undefined
              ? { headers: { [API.apiKeyHeader]: endpoints.apiKey } }
              : {
                  method: 'POST',
                  headers: {
                    'content-type': 'application/json',
                    [API.apiKeyHeader]: endpoints.apiKey,
                    [API.adminKeyHeader]: endpoints.adminKey,
                  },
                  body: JSON.stringify(payload),
                };
          const response = await fetch(url, init);
          const text = await response.text();
          assert.ok(
            response.status < 500,
            `${init.method ?? 'GET'} ${url.slice(0, 300)} → ${response.status} ${text.slice(0, 300)}`,
          );
          assert.doesNotMatch(text, /\n\s+at |\.ts:\d+/, 'no stack trace');
        },
      ),
      { numRuns: 400 },
    );
    // The fuzzer may have changed the registry (it holds the admin key): the platform still answers.
    const after = await fetch(`${endpoints.api}/v1/registry/models`, {
      headers: { [API.apiKeyHeader]: endpoints.apiKey },
    });
    assert.equal(after.status, 200);
  });
});
