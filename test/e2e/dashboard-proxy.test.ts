/**
 * `nimbus dashboard` as a person runs it, against a local platform on free ports: the CLI's proxy serves the
 * page and its APIs on 127.0.0.1, reads with the API key and signs registry changes with SigV4 (the local
 * gateway checks the signature as IAM would), and answers this session's page only — the token, the Host,
 * the Origin — and only the API's declared routes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { signRequest } from '../../cli/api.ts';
import { signerOf } from '../../cli/commands/dashboard.ts';
import { startDashboardProxy } from '../../cli/dashboard-proxy.ts';
import { EXIT } from '../../cli/output.ts';
import { stackTarget } from '../../cli/target.ts';
import type { ApiKeyList, CreatedApiKey } from '../../core/api-types.ts';
import { API, OUTPUTS } from '../../core/contract.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import { localPlatformFixture } from '../helpers.ts';
import { collect, expectError, nimbus } from '../nimbus-cli.ts';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request as a browser or another local program sends it (node:http: any Host and Origin). */
function send(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: init.method ?? 'GET',
        headers: {
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('nimbus dashboard', () => {
  const local = localPlatformFixture();
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-dashboard-'));
  const endpointsFile = join(dir, 'endpoints.json');
  const proxy = { url: '', token: '', origin: '', stdout: '' };
  let child: ReturnType<typeof spawn>;
  let done: ReturnType<typeof collect>;

  before(async () => {
    writeEndpointsFile(endpointsFile, local.platform.endpoints);
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'cli/nimbus.ts', '--endpoints-file', endpointsFile, 'dashboard', '--port', '0'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    done = collect(child, 600_000);
    // The address is the command's first line: wait for it (not for a fixed time).
    const line = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/dashboard\/#key=\S+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`nimbus dashboard exited ${code}: ${output}`)));
    });
    proxy.url = line;
    const url = new URL(line);
    proxy.origin = url.origin;
    proxy.token = new URLSearchParams(url.hash.slice(1)).get('key') ?? '';
    assert.equal(new URLSearchParams(url.hash.slice(1)).get('admin'), proxy.token);
  });
  after(async () => {
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A request of the page's: the token as its API key, from its own origin. */
  const page = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) =>
    send(proxy.origin, path, {
      ...init,
      headers: { [API.apiKeyHeader]: proxy.token, ...init.headers },
    });

  it('prints the page, and the credentials its actions are signed with', async () => {
    const result = await nimbus(['--endpoints-file', endpointsFile, 'dashboard', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /--port <port>/);
    assert.ok(proxy.token.length >= 40, 'a random session token');
    const first = await send(proxy.origin, '/dashboard/');
    assert.equal(first.status, 200, 'the page itself needs no token (it is public in AWS too)');
    assert.match(first.text, /<html/i);
  });

  it('serves the page in a real browser, which reads through the proxy with the token from the address', async () => {
    const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath}: install it or set CHROMIUM_PATH`);
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      const runs = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/registry/runs');
      await page.goto(proxy.url);
      const answer = await runs;
      assert.equal(answer.status(), 200, await answer.text());
      assert.equal(answer.request().headers()[API.apiKeyHeader], proxy.token, 'the page sends the token');
      assert.doesNotMatch(page.url(), /key=/, 'the token leaves the address bar');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  it('reads with the API key and signs a change, which straight to the API needs the admin credential', async () => {
    const models = await page('/v1/registry/models');
    assert.equal(models.status, 200, models.text);
    assert.deepEqual(JSON.parse(models.text), { models: [] });

    const body = JSON.stringify({ name: 'team-a', models: ['*'], reason: 'through the dashboard' });
    const created = await page('/v1/registry/keys', {
      method: 'POST',
      headers: { [API.adminKeyHeader]: proxy.token, origin: proxy.origin },
      body,
    });
    assert.equal(created.status, 200, created.text);
    const { key, value } = JSON.parse(created.text) as CreatedApiKey;
    assert.equal(key.name, 'team-a');
    assert.match(key.createdBy, /local-admin/, 'the signed principal made the change');
    assert.ok(value);

    // The same change straight to the API: refused without the admin credential.
    const { api, adminKey } = local.platform.endpoints;
    const unsigned = await send(api, '/v1/registry/keys', { method: 'POST', body });
    assert.equal(unsigned.status, 403);
    assert.equal(JSON.parse(unsigned.text).error, 'Missing Authentication Token');
    // ... and with the session token, which is nothing to the API.
    const tokenOnly = await send(api, '/v1/registry/keys', {
      method: 'POST',
      headers: { [API.adminKeyHeader]: proxy.token },
      body,
    });
    assert.equal(tokenOnly.status, 403);

    // A listing of keys (an IAM GET) through the proxy, signed too.
    const listed = await page('/v1/registry/keys');
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(
      (JSON.parse(listed.text) as ApiKeyList).keys.map((k) => k.id),
      [key.id],
    );
    // Revoked through the proxy with the admin header only (how the page sends its changes).
    const revoked = await send(proxy.origin, `/v1/registry/keys/${key.id}/revoke`, {
      method: 'POST',
      headers: { [API.adminKeyHeader]: proxy.token },
      body: JSON.stringify({ reason: 'done' }),
    });
    assert.equal(revoked.status, 200, revoked.text);
    assert.ok(adminKey);
  });

  it('takes a SigV4 signature by the local credentials on an IAM route, as IAM would, and refuses another', async () => {
    const { api, region, accessKeyId, secretAccessKey } = local.platform.endpoints;
    const url = `${api}/v1/registry/keys`;
    const sign = (credentials: { accessKeyId: string; secretAccessKey: string }, at = region) =>
      signRequest({ url, method: 'GET', headers: {} }, at, credentials);
    const good = await fetch(url, { headers: await sign({ accessKeyId, secretAccessKey }) });
    assert.equal(good.status, 200, await good.text());
    for (const headers of [
      await sign({ accessKeyId, secretAccessKey: 'not-the-secret' }),
      await sign({ accessKeyId: 'SOMEONEELSE', secretAccessKey }),
      await sign({ accessKeyId, secretAccessKey }, 'eu-west-1'),
    ]) {
      const refused = await fetch(url, { headers });
      assert.equal(refused.status, 403);
      assert.match(((await refused.json()) as { error: string }).error, /signature/);
    }
    // A signature covers the body: another body under the same signature is refused.
    const body = JSON.stringify({ name: 'x', models: ['*'], reason: 'r' });
    const headers = await signRequest(
      { url, method: 'POST', headers: { 'content-type': 'application/json' }, body },
      region,
      { accessKeyId, secretAccessKey },
    );
    const tampered = await fetch(url, {
      method: 'POST',
      headers,
      body: body.replace('"x"', '"y"'),
    });
    assert.equal(tampered.status, 403);
  });

  it("refuses a request without the session's token, whatever credential it carries instead", async () => {
    const { apiKey, adminKey } = local.platform.endpoints;
    const credentials: Record<string, string>[] = [
      {},
      { [API.apiKeyHeader]: 'wrong' },
      { [API.apiKeyHeader]: apiKey },
      { [API.adminKeyHeader]: adminKey },
      { [API.apiKeyHeader]: proxy.token, [API.adminKeyHeader]: adminKey },
      {
        authorization: 'AWS4-HMAC-SHA256 Credential=NIMBUSLOCAL/20260101/us-east-1/execute-api/aws4_request',
      },
    ];
    for (const headers of credentials) {
      for (const [method, path] of [
        ['GET', '/v1/registry/models'],
        ['POST', '/v1/registry/keys'],
      ] as const) {
        const refused = await send(proxy.origin, path, {
          method,
          headers,
          ...(method === 'POST' ? { body: '{"name":"x","models":["*"],"reason":"r"}' } : {}),
        });
        assert.equal(refused.status, 403, `${method} ${path} with ${Object.keys(headers).join(',')}`);
        assert.match(JSON.parse(refused.text).error, /nimbus dashboard/);
      }
    }
  });

  it("refuses another site's request and another host name, even with the token", async () => {
    const body = '{"name":"x","models":["*"],"reason":"r"}';
    const fromElsewhere = await page('/v1/registry/keys', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body,
    });
    assert.equal(fromElsewhere.status, 403);
    const crossSite = await page('/v1/registry/models', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403);
    const port = new URL(proxy.origin).port;
    const rebound = await page('/v1/registry/models', { headers: { host: `evil.example:${port}` } });
    assert.equal(rebound.status, 403, 'a DNS-rebound name is not this server');
    assert.equal((await page('/v1/registry/models', { headers: { host: `localhost:${port}` } })).status, 200);
    // No CORS: a preflight is not granted.
    const preflight = await page('/v1/registry/keys', {
      method: 'OPTIONS',
      headers: { origin: proxy.origin, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 405);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  it('forwards the declared routes only, and bounds bodies', async () => {
    for (const path of [
      '/v1/nothing',
      '/',
      '/v1/registry/../../etc/passwd',
      '/v1/registry/%2e%2e/models',
      '/v1/registry//models',
      '/v1/registry/models/iris/versions/1/artifacts/a/b',
    ]) {
      const missing = await page(path);
      assert.equal(missing.status, 404, path);
    }
    const wrongMethod = await page('/v1/registry/models', { method: 'POST', body: '{}' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'GET');
    const large = await page('/v1/registry/keys', {
      method: 'POST',
      headers: { [API.adminKeyHeader]: proxy.token },
      body: JSON.stringify({ name: 'x', models: ['*'], reason: 'r'.repeat(100_000) }),
    });
    assert.equal(large.status, 413);
  });

  it("against a stack, signs with the AWS SDK's default credential chain and says whose they are", async () => {
    // A stack target whose API is the local one: the platform has put its credentials in this process's
    // environment (AWS_ACCESS_KEY_ID…), where the default chain finds them, as it would a user's.
    const { api, apiKey, region, accessKeyId } = local.platform.endpoints;
    const target = stackTarget('nimbus', region, {
      [OUTPUTS.apiUrl]: `${api}/`,
      [OUTPUTS.apiKeyId]: 'unused',
      [OUTPUTS.datasetsBucket]: 'd',
      [OUTPUTS.artifactsBucket]: 'a',
      [OUTPUTS.datasetsTable]: 't',
      [OUTPUTS.runsTable]: 'r',
      [OUTPUTS.modelsTable]: 'm',
    });
    assert.equal(process.env.AWS_ACCESS_KEY_ID, accessKeyId);
    const signer = await signerOf(target);
    assert.match(signer.identity, /environment \(AWS_ACCESS_KEY_ID\)/);
    assert.match(signer.identity, new RegExp(`SigV4 for execute-api in ${region}`));
    const stackProxy = await startDashboardProxy({
      api: target.api,
      port: 0,
      apiKey: () => Promise.resolve(apiKey),
      sign: signer.sign,
    });
    try {
      const headers = { [API.adminKeyHeader]: stackProxy.token };
      const listed = await send(stackProxy.url, '/v1/registry/keys', { headers });
      assert.equal(listed.status, 200, listed.text);
      const models = await send(stackProxy.url, '/v1/registry/models', { headers });
      assert.equal(models.status, 200, models.text);
    } finally {
      await stackProxy.stop();
    }
  });

  it('says in one line that the port is in use', async () => {
    const port = new URL(proxy.origin).port;
    const result = await nimbus(['--endpoints-file', endpointsFile, 'dashboard', '--port', port]);
    expectError(
      result,
      EXIT.failed,
      new RegExp(`port ${port} is already in use on 127\\.0\\.0\\.1`),
      /--port/,
    );
  });
});
