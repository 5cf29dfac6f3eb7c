/**
 * The APIs as a careless or hostile client uses them, against the live local platform: bodies of every shape
 * up to API Gateway's 10 MB, made-up model names by the thousand, values outside float32's range, GETs with
 * bodies, times keys cannot carry, forged Step Functions calls and bodies that never finish. Each attack must
 * end in a clear 4xx (JSON, no stack trace), with the platform still up and answering, and nothing created for
 * a name that is not a registered model (no metrics, alarms or capture). Registry changes and the fuzzer:
 * hostile-registry.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../../aws/signing.ts';
import { API } from '../../core/contract.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { localPlatformFixture } from '../helpers.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');
const FLOWER = { sepal_length: 5.9, sepal_width: 3, petal_length: 5.1, petal_width: 1.8 };

describe('hostile clients of the APIs', () => {
  // Every prediction captured, so that a capture folder for a made-up name would show.
  const local = localPlatformFixture({ captureRate: 1, captureFlushMs: 50 });

  before(async () => {
    await local.client.upload('datasets/iris/iris.csv', readFileSync(IRIS));
    const [run] = await local.client.waitForRuns('iris', 1);
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
  });

  /** A predict with a raw body; the JSON answer and its status. */
  const predictRaw = async (body: string, model = 'iris') => {
    const response = await local.client.predict(model, body, { raw: true });
    const text = await response.text();
    assert.match(response.headers.get('content-type') ?? '', /application\/json/, text.slice(0, 200));
    assert.doesNotMatch(text, /\n\s+at |\.ts:\d+/, 'no stack trace');
    return { status: response.status, body: JSON.parse(text) as { error?: string; field?: string } };
  };

  const stillServes = async () => {
    const response = await local.client.predict('iris', { instances: [FLOWER] });
    assert.equal(response.status, 200, await response.text());
  };

  it('refuses 10 MB bodies of every shape with a 413 or 400 naming the bound, and keeps serving', async () => {
    const pad = (n: number) => ' '.repeat(n);
    const shapes: { name: string; body: string; status: number; error: RegExp }[] = [
      {
        name: '4.9 million zeros in one column',
        body: `{"inputs":{"sepal_length":[${Array(4.9e6).fill('0').join(',')}]}}`,
        status: 413,
        error: /"inputs.sepal_length" has more than 1000 instances/,
      },
      {
        name: '4.9 million instances and one NaN',
        body: `{"instances":[NaN,${Array(4.9e6).fill('1').join(',')}]}`,
        status: 413,
        error: /"instances" has more than 1000 instances/,
      },
      {
        name: 'one 9.9 MB string',
        body: JSON.stringify({ instances: [{ ...FLOWER, note: 'x'.repeat(9.9e6) }] }),
        status: 400,
        error: /instances\[0\]\.note has a string longer than 4096 characters/,
      },
      {
        name: 'a million levels of nesting',
        body: `${'['.repeat(1e6)}${']'.repeat(1e6)}`,
        status: 400,
        error: /nests deeper than 4 levels/,
      },
      {
        name: 'an instance with half a million keys',
        body: `{"instances":[{${Array.from({ length: 5e5 }, (_, i) => `"k${i}":0`).join(',')}}]}`,
        status: 400,
        error: /instances\[0\] has more than \d+ keys/,
      },
      {
        name: '9.9 MB of whitespace around one NaN',
        body: `{"instances":[{"sepal_length":NaN,"sepal_width":3,"petal_length":5,"petal_width":1}${pad(9.9e6)}]}`,
        status: 400,
        error: /instances\[0\]\.sepal_length must be a finite number, got NaN/,
      },
      {
        name: 'an unterminated body of 3 million values',
        body: `{"instances":[${'1,'.repeat(3e6)}`,
        status: 413,
        error: /more than 1000 instances/,
      },
    ];
    for (const shape of shapes) {
      const before = process.memoryUsage().rss;
      const { status, body } = await predictRaw(shape.body);
      assert.equal(status, shape.status, `${shape.name}: ${JSON.stringify(body).slice(0, 300)}`);
      assert.match(body.error ?? '', shape.error, shape.name);
      // The old reader built every row of a body first: +700 MB for the zeros. A bound, not a timing.
      const grew = (process.memoryUsage().rss - before) / 2 ** 20;
      assert.ok(grew < 300, `${shape.name}: the process grew by ${grew.toFixed(0)} MB`);
    }
    // Malformed JSON is a 400 that says where.
    const broken = await predictRaw('{"instances":[{"sepal_length": 1,}]}');
    assert.equal(broken.status, 400);
    assert.match(broken.body.error ?? '', /not valid JSON: .* at character \d+/);
    await stillServes();
  });

  it('answers a valid predict while a 10 MB body is being read', async () => {
    const huge = `{"instances":[${' '.repeat(9.9e6)}${JSON.stringify(FLOWER)}]}`;
    const slow = predictRaw(huge);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => local.client.predict('iris', { instances: [FLOWER] })),
    );
    for (const response of concurrent) assert.equal(response.status, 200);
    assert.equal((await slow).status, 200);
  });

  it('refuses values outside float32 by field and instance, and never answers null probabilities', async () => {
    for (const value of [3.5e38, 1e300, -1e300]) {
      const { status, body } = await predictRaw(
        JSON.stringify({ instances: [FLOWER, { ...FLOWER, petal_length: value }] }),
      );
      assert.equal(status, 400, JSON.stringify(body));
      assert.match(
        body.error ?? '',
        /instances\[1\]\.petal_length is .*outside the range a model input holds/,
      );
      assert.equal(body.field, 'petal_length');
    }
    // Within float32 but far outside the data: the model overflows, and says so for that instance.
    for (const value of [3e38, 1e38]) {
      const { status, body } = await predictRaw(
        JSON.stringify({ instances: [FLOWER, { ...FLOWER, petal_length: value }] }),
      );
      if (status === 200) {
        const answer = body as unknown as { predictions: { probabilities: Record<string, number> }[] };
        for (const p of answer.predictions) {
          for (const v of Object.values(p.probabilities))
            assert.ok(Number.isFinite(v), JSON.stringify(answer));
        }
      } else {
        assert.equal(status, 400);
        assert.match(body.error ?? '', /instance 1 cannot be scored: its values overflow the model/);
      }
    }
  });

  it('answers 404 for made-up model names before any metric, alarm, cache or capture exists for them', async () => {
    const { platform, client } = local;
    const alarmsBefore = platform.monitoring.definitions().length;
    const names = [
      ...Array.from({ length: 300 }, (_, i) => `made-up-${i}`),
      'x'.repeat(5000),
      'Iris',
      'iris/../iris',
      '日本語',
      '_all',
      '%00',
    ];
    for (const name of names) {
      const response = await client.predict(name, { instances: [FLOWER] });
      assert.equal(response.status, 404, name.slice(0, 40));
      const body = (await response.json()) as { error: string };
      assert.match(body.error, /no model/);
      assert.ok(body.error.length < 600, 'the answer does not echo a long name whole');
    }
    for (const path of [
      '/v1/models/made-up-1',
      '/v1/models/made-up-1/metadata',
      '/v1/models/iris/labels/NoSuch',
    ]) {
      assert.equal((await client.get(path)).status, 404, path);
    }
    // Alarms are evaluated from the metrics: none for any of the names above.
    await platform.monitoring.evaluate();
    const models = new Set(platform.monitoring.definitions().map((a) => a.model));
    for (const name of names) assert.ok(!models.has(name), `no alarms for ${name.slice(0, 40)}`);
    assert.equal(platform.monitoring.definitions().length, alarmsBefore);
    const alarms = await fetch(`${client.endpoints.api}/v1/monitoring/alarms`, {
      headers: { [API.apiKeyHeader]: client.endpoints.apiKey },
    });
    assert.equal(alarms.status, 200);
    const listed = (await alarms.json()) as { alarms: { name: string }[] };
    assert.ok(
      listed.alarms.every((a) => !/made-up|xxxxx/.test(a.name)),
      'no alarm state for a made-up name',
    );
    await platform.flushCapture();
    const captured = await client.s3.send(
      new ListObjectsV2Command({
        Bucket: client.endpoints.artifactsBucket,
        Prefix: 'capture/',
        Delimiter: '/',
      }),
    );
    const folders = (captured.CommonPrefixes ?? []).map((p) => p.Prefix);
    assert.ok(
      folders.every((p) => p === 'capture/iris/'),
      JSON.stringify(folders),
    );
    await stillServes();
  });

  it('answers a GET that carries a body on the registry and monitoring APIs', async () => {
    const { endpoints } = local.client;
    for (const path of ['/v1/registry/models', '/v1/registry/runs', '/v1/monitoring/alarms']) {
      // fetch will not send a GET body; node:http will, as API Gateway passes it on.
      const { request } = await import('node:http');
      const url = new URL(`${endpoints.api}${path}`);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'GET',
            headers: {
              [API.apiKeyHeader]: endpoints.apiKey,
              'content-type': 'application/json',
              'content-length': '17',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end('{"ignored": true}');
      });
      assert.equal(status, 200, path);
    }
  });

  it('answers a monitoring or registry time outside what keys can carry with a 400, not a crash', async () => {
    const { client } = local;
    for (const path of [
      '/v1/monitoring/models/iris/drift?since=-271821-04-20T00:00:00.000Z',
      '/v1/monitoring/models/iris/drift?since=%2B275760-09-13T00:00:00.000Z',
      '/v1/registry/models/iris/aliases/production?at=-271821-04-20T00:00:00.000Z',
    ]) {
      const response = await client.get(path);
      assert.equal(response.status, 400, `${path}: ${await response.clone().text()}`);
      assert.match(await response.text(), /from 1970 to 9999/);
    }
    const long = await client.get(`/v1/monitoring/models/${'x'.repeat(5000)}/drift`);
    assert.equal(long.status, 404);
    assert.ok((await long.text()).length < 600, 'a long name is not echoed whole');
  });

  it('answers the local Step Functions endpoint only when signed, refuses what it cannot read, never falls over', async () => {
    const { endpoints } = local.client;
    const url = endpoints.stepFunctions;
    const credentials = { accessKeyId: endpoints.accessKeyId, secretAccessKey: endpoints.secretAccessKey };
    const target = {
      'x-amz-target': 'AWSStepFunctions.StartExecution',
      'content-type': 'application/x-amz-json-1.0',
    };
    // Unsigned (or signed by someone else): refused, whatever the body.
    for (const body of ['null', '{}', JSON.stringify({ name: 'forged', input: '{}' })]) {
      const response = await fetch(url, { method: 'POST', headers: target, body });
      assert.equal(response.status, 403, body);
    }
    const signedFetch = async (body: string, keys = credentials) => {
      const { host } = new URL(url);
      const signer = new SignatureV4({
        service: 'states',
        region: endpoints.region,
        credentials: keys,
        sha256: Sha256,
      });
      const request = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(url).port),
        path: '/',
        query: {},
        headers: { ...target, host },
        body,
      });
      const { host: _host, ...headers } = request.headers;
      return fetch(url, { method: 'POST', headers, body });
    };
    assert.equal(
      (await signedFetch('{}', { ...credentials, secretAccessKey: 'not-the-secret' })).status,
      403,
    );
    for (const body of ['null', '[]', '"x"', 'not json']) {
      const response = await signedFetch(body);
      assert.equal(response.status, 400, body);
      assert.match(await response.text(), /SerializationException/);
    }
    const sfn = new SFNClient({ endpoint: url, region: endpoints.region, credentials, maxAttempts: 1 });
    try {
      await assert.rejects(
        sfn.send(
          new StartExecutionCommand({
            stateMachineArn: endpoints.stateMachineArn,
            name: 'evil/../forged run',
            input: '{}',
          }),
        ),
        (error: Error) => error.name === 'InvalidName',
      );
    } finally {
      sfn.destroy();
    }
    const big = await signedFetch(JSON.stringify({ input: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(big.status, 413);
    await stillServes();
  });

  it('answers a request whose body never finishes with a 408, and serves meanwhile', async () => {
    const { port } = new URL(local.client.endpoints.api);
    const { connect } = await import('node:net');
    const socket = connect(Number(port), '127.0.0.1');
    const answered = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    // The headers, then 10 of the 1,000 bytes promised, then nothing.
    socket.write(
      `GET /dashboard/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(10)}`,
    );
    await stillServes();
    assert.match(await answered, /^HTTP\/1\.1 408/);
  });
});
