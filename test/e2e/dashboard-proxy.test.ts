/**
 * `nimbus dashboard`: the dashboard through a proxy on 127.0.0.1 that makes the page's requests with the
 * caller's rights — against a real local platform, over real HTTP. Reads and changes pass with the session's
 * token (and nothing else of the browser's); without it, from another host name, or to a path no route
 * declares, they are refused; the same change sent straight to the API without the admin key is refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DashboardProxy, startDashboardProxy } from '../../cli/dashboard-proxy.ts';
import { localTarget } from '../../cli/target.ts';
import type { ApiKeyList, CreatedApiKey } from '../../core/api-types.ts';
import { API } from '../../core/contract.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import { localPlatformFixture } from '../helpers.ts';

const TOKEN = 'session-token-for-the-test-0123456789';

describe('nimbus dashboard (the signing proxy)', () => {
  const local = localPlatformFixture();
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-proxy-'));
  let proxy: DashboardProxy;
  const base = () => `http://127.0.0.1:${proxy.port}`;
  const send = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ) =>
    fetch(`${base()}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  before(async () => {
    const file = join(dir, 'endpoints.json');
    writeEndpointsFile(file, local.platform.endpoints);
    proxy = await startDashboardProxy(localTarget(local.platform.endpoints, file), { port: 0, token: TOKEN });
  });
  after(async () => {
    await proxy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the page, and the API's reads and changes with the session's token", async () => {
    assert.equal(proxy.url, `${base()}/dashboard/#key=${TOKEN}&admin=${TOKEN}`);
    const page = await send('/dashboard/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src/);
    assert.match(await page.text(), /<html/);
    for (const file of ['app.js', 'styles.css', 'favicon.svg']) {
      assert.equal((await send(`/dashboard/${file}`)).status, 200, file);
    }

    const token = { [API.apiKeyHeader]: TOKEN };
    const runs = await send('/v1/registry/runs', { headers: token });
    assert.equal(runs.status, 200, await runs.clone().text());
    assert.deepEqual(((await runs.json()) as { runs: unknown[] }).runs, []);

    // A change: the proxy makes it with the admin key (IAM's stand-in here), whatever the browser sent.
    const created = await send('/v1/registry/keys', {
      method: 'POST',
      headers: { [API.adminKeyHeader]: TOKEN, authorization: 'AWS4-HMAC-SHA256 forged' },
      body: { name: 'through-the-proxy', models: ['iris'], reason: 'dashboard proxy test' },
    });
    assert.equal(created.status, 200, await created.clone().text());
    const { key } = (await created.json()) as CreatedApiKey;
    assert.equal(key.name, 'through-the-proxy');
    // Listing the keys is an IAM read: the token as the admin key.
    const listed = await send('/v1/registry/keys', { headers: { [API.adminKeyHeader]: TOKEN } });
    assert.equal(listed.status, 200);
    const { keys } = (await listed.json()) as ApiKeyList;
    assert.ok(keys.some((k) => k.id === key.id));

    // The same change straight to the API, without the admin key: refused.
    const direct = await local.client.registry(
      '/keys',
      { name: 'direct', models: ['iris'], reason: 'no admin key' },
      { adminKey: null },
    );
    assert.equal(direct.status, 403);
  });

  it('refuses a request without the token, with the read token on a change, for another host, or off the routes', async () => {
    assert.equal((await send('/v1/registry/runs')).status, 403);
    assert.equal((await send('/v1/registry/runs', { headers: { [API.apiKeyHeader]: 'guess' } })).status, 403);
    const change = { name: 'x', models: ['iris'], reason: 'r' };
    assert.equal(
      (
        await send('/v1/registry/keys', {
          method: 'POST',
          headers: { [API.apiKeyHeader]: TOKEN },
          body: change,
        })
      ).status,
      403,
      'a change needs the token as its admin key',
    );
    assert.equal(
      (await send('/v1/registry/nothing-here', { headers: { [API.apiKeyHeader]: TOKEN } })).status,
      404,
    );
    assert.equal((await send('/v1/registry/runs', { method: 'DELETE' })).status, 404);
    // A DNS-rebound name that resolves to 127.0.0.1: not this proxy's host.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: proxy.port,
          path: '/v1/registry/runs',
          headers: { host: 'evil.example:80', [API.apiKeyHeader]: TOKEN },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end();
    });
    assert.equal(rebound, 403);
  });

  it('is started by `nimbus dashboard`, which prints the link and stops on SIGTERM', async () => {
    const file = join(dir, 'endpoints.json');
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'cli', 'bin.mjs'), '--endpoints-file', file, 'dashboard', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const link = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /Dashboard of .+: (http:\/\/127\.0\.0\.1:\d+\/dashboard\/#key=\S+)/.exec(output);
        if (found?.[1]) resolve(found[1]);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once('exit', (code) => reject(new Error(`nimbus dashboard exited (${code}): ${output}`)));
    });
    assert.match(output, /actions are made with the admin key of /);
    const { origin, hash } = new URL(link);
    const session = new URLSearchParams(hash.slice(1)).get('key') ?? '';
    const runs = await fetch(`${origin}/v1/registry/runs`, { headers: { [API.apiKeyHeader]: session } });
    assert.equal(runs.status, 200);
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    assert.equal(await closed, 0);
  });
});
