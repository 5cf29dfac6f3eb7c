/**
 * The OpenAPI document: current with the declared routes and the API's types, valid OpenAPI 3.1, served at
 * GET /v1/openapi.json, and matching the gateway — every operation it lists is answered by a route, and what
 * it does not list is not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { API } from '../../core/contract.ts';
import { ROUTES } from '../../core/declaration.ts';
import { formatOpenApi, generateOpenApi, OPENAPI_FILE } from '../../scripts/openapi.ts';
import { localPlatformFixture } from '../helpers.ts';

type Operation = { operationId: string; security: Record<string, string[]>[] };
type Document = { paths: Record<string, Record<string, Operation>> };

const onDisk = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Document;

describe('the OpenAPI document', () => {
  it('is current: docs/openapi.json is what the declaration and core/api-types.ts make (npm run openapi)', () => {
    const generated = generateOpenApi();
    assert.deepEqual(onDisk, JSON.parse(formatOpenApi(generated)));
  });

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(onDisk) as Parameters<Validator['validate']>[0]);
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
    assert.equal(validator.version, '3.1');
  });

  it('lists every declared route once, under its operation id', () => {
    const operations = Object.entries(onDisk.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
    );
    const declared = Object.entries(ROUTES).map(([name, r]) => `${r.method} ${r.path} ${name}`);
    assert.deepEqual(operations.sort(), declared.sort());
  });
});

describe('the gateway against the OpenAPI document', () => {
  const local = localPlatformFixture();
  /** Values for the path parameters: names of things that do not exist (a 404 from the route, not the gateway). */
  const SAMPLES: Record<string, string> = {
    model: 'no-such-model',
    version: '7',
    label: 'production',
    alias: 'production',
    runId: 'no-such-run',
    name: 'metrics',
    file: 'index.html',
  };
  const send = (method: string, path: string, auth: 'apiKey' | 'admin' | 'none', body?: unknown) => {
    const { endpoints } = local.platform;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth === 'apiKey') headers[API.apiKeyHeader] = endpoints.apiKey;
    if (auth === 'admin') headers[API.adminKeyHeader] = endpoints.adminKey;
    return fetch(`${endpoints.api}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };
  /** Whether the answer says no route is there: the gateway's or a handler's "no route" 404 or 405. */
  const noRoute = async (response: Response) => {
    const text = await response.text();
    return (
      (response.status === 404 || response.status === 405) &&
      /no \w* ?route|not allowed|use (GET|POST)/.test(text)
    );
  };

  it('answers every operation the document lists with its route', async () => {
    const missing: string[] = [];
    for (const [template, methods] of Object.entries(onDisk.paths)) {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => SAMPLES[name] ?? 'x');
      for (const [method, op] of Object.entries(methods)) {
        const auth = op.security.some((s) => 'apiKey' in s)
          ? 'apiKey'
          : op.security.some((s) => 'localAdminKey' in s)
            ? 'admin'
            : 'none';
        const response = await send(method.toUpperCase(), path, auth, method === 'post' ? {} : undefined);
        if (await noRoute(response)) missing.push(`${method.toUpperCase()} ${path} (${op.operationId})`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('answers nothing the document does not list', async () => {
    const unlisted = [
      ['GET', '/v1/registry/nothing', 'apiKey'],
      ['GET', '/v1/registry/models/no-such-model/things', 'apiKey'],
      ['POST', '/v1/registry/models/no-such-model/versions/7/promote', 'admin'],
      ['POST', '/v1/registry/runs', 'admin'],
      ['GET', '/v1/monitoring/alarms/now', 'apiKey'],
      ['GET', '/v1/monitoring/models', 'apiKey'],
      ['GET', '/v1/models/no-such-model:explain', 'apiKey'],
      ['GET', '/v1/models/no-such-model:predict', 'apiKey'],
      ['POST', '/v1/models/no-such-model/metadata', 'apiKey'],
      ['GET', '/v1/models/no-such-model/versions/7/labels/x', 'apiKey'],
      ['GET', '/v1/openapi.yaml', 'none'],
      ['POST', '/v1/openapi.json', 'none'],
      ['GET', '/v3/models/no-such-model', 'apiKey'],
      ['GET', '/', 'none'],
      ['GET', '/v1', 'apiKey'],
      ['DELETE', '/v1/models/no-such-model:predict', 'apiKey'],
      ['PUT', '/v1/registry/models', 'apiKey'],
      ['GET', '/dashboard/a/b.js', 'none'],
      ['POST', '/dashboard/', 'none'],
    ] as const;
    const answered: string[] = [];
    for (const [method, path, auth] of unlisted) {
      const response = await send(method, path, auth, method === 'POST' ? {} : undefined);
      // A file the dashboard does not have is the 404 of its one route: say which it is.
      if (path === '/dashboard/a/b.js') {
        assert.equal(response.status, 404);
        await response.body?.cancel();
        continue;
      }
      if (!(await noRoute(response))) answered.push(`${method} ${path} → ${response.status}`);
    }
    assert.deepEqual(answered, []);
  });

  it('answers a path or a method it lacks as TF Serving does: {"error": …} naming it, a 405 with Allow', async () => {
    const answers = [];
    for (const [method, path] of [
      ['GET', '/nothing/here'],
      ['POST', '/v1/models'],
      ['DELETE', '/v1/models/iris:predict'],
      ['PATCH', '/v1/openapi.json'],
    ] as const) {
      const response = await send(method, path, 'none');
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      answers.push([response.status, response.headers.get('allow'), await response.json()]);
    }
    assert.deepEqual(answers, [
      [404, null, { error: 'no route for GET /nothing/here' }],
      [404, null, { error: 'no route for POST /v1/models' }],
      [405, 'GET, POST', { error: 'no route for DELETE /v1/models/iris:predict: it takes GET, POST' }],
      [405, 'GET', { error: 'no route for PATCH /v1/openapi.json: it takes GET' }],
    ]);
    const refused = await send('POST', '/v1/models/iris:predict', 'none', {});
    assert.deepEqual([refused.status, await refused.json()], [403, { error: 'Forbidden' }]);
  });

  it('serves the document at GET /v1/openapi.json without a key', async () => {
    const response = await send('GET', '/v1/openapi.json', 'none');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await response.json(), onDisk);
  });
});
