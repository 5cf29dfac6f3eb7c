/**
 * The dashboard handler (functions/dashboard/handler.ts), which touches no data, called alone — no gateway, no
 * emulators: `/dashboard` redirects to the page's URL with its slash, other methods are refused, and
 * `/v1/openapi.json` is docs/openapi.json. And its Lambda bundle, which carries the built page and serves it
 * in a fresh process without esbuild. The page in a browser: test/e2e/dashboard.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { REPO_ROOT } from '../../core/repo.ts';
import { loadHandler } from '../../local/handlers.ts';
import { bundleFunction } from '../helpers.ts';
import { apiEvent, invoke } from './fixture.ts';

describe('the dashboard handler', () => {
  let dashboard: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  before(async () => {
    dashboard = (await loadHandler<{ handler: typeof dashboard }>('dashboard')).handler;
  });

  it('redirects /dashboard to /dashboard/ (the URLs in the page are relative to it), under the strict CSP', async () => {
    const answer = await invoke(dashboard, apiEvent('GET', '/dashboard'));
    assert.equal(answer.statusCode, 301, answer.body);
    assert.equal(answer.headers?.Location, 'dashboard/');
    assert.match(
      String(answer.headers?.['Content-Security-Policy']),
      /^default-src 'none'; script-src 'self';/,
    );
    assert.equal(answer.headers?.['X-Content-Type-Options'], 'nosniff');
  });

  it('answers a method other than GET with a 405 that allows GET', async () => {
    const answer = await invoke(dashboard, apiEvent('POST', '/dashboard/', { body: {} }));
    assert.equal(answer.statusCode, 405, answer.body);
    assert.equal(answer.headers?.Allow, 'GET');
  });

  it('answers /v1/openapi.json with docs/openapi.json, as JSON', async () => {
    const answer = await invoke(dashboard, apiEvent('GET', '/v1/openapi.json'));
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json, JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8')));
  });
});
describe('dashboard Lambda bundle', () => {
  it('carries the built page next to the handler, and serves it without esbuild', async () => {
    const bundle = bundleFunction('dashboard');
    try {
      assert.deepEqual(readdirSync(join(bundle.dir, 'page')).sort(), [
        'app.js',
        'favicon.svg',
        'index.html',
        'styles.css',
      ]);
      const built = readFileSync(join(bundle.dir, 'page', 'app.js'), 'utf8');
      // In a fresh Node process, as Lambda runs it, where nothing can resolve esbuild.
      const event = {
        resource: '/dashboard/{proxy+}',
        path: '/dashboard/app.js',
        httpMethod: 'GET',
        headers: {},
        queryStringParameters: null,
        pathParameters: { proxy: 'app.js' },
        requestContext: { requestId: 'test' },
      };
      const script = `require(${JSON.stringify(join(bundle.dir, 'index.js'))}).handler(${JSON.stringify(event)})
        .then((r) => process.stdout.write(JSON.stringify(r)))`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
        cwd: bundle.dir,
        env: { PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'ERROR' },
        maxBuffer: 16 * 1024 * 1024,
      });
      const result = JSON.parse(stdout) as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };
      assert.equal(result.statusCode, 200);
      assert.match(result.headers['Content-Type'] ?? '', /^text\/javascript/);
      assert.equal(result.body, built);
    } finally {
      rmSync(bundle.outdir, { recursive: true, force: true });
    }
  });
});
