/**
 * The two serving protocols against the iris model the end-to-end suite trains (platform.test.ts registers
 * these tests in its suite, after the model is up): TF Serving's REST API documentation's requests and
 * answers, and the Open Inference Protocol v2's, replayed with iris's names.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { CreatedApiKey, V2InferenceResponse, V2ModelMetadata } from '../../core/api-types.ts';
import { API } from '../../core/contract.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import type { localPlatformFixture } from '../helpers.ts';
import { nimbus } from '../nimbus-cli.ts';

type Local = ReturnType<typeof localPlatformFixture>;

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const ROWS = [
  [6.1, 2.8, 4.7, 1.2],
  [5.1, 3.5, 1.4, 0.2],
] as const;
const CLASSES = ['setosa', 'versicolor', 'virginica'];

export function protocolTests(local: Local): void {
  const json = async <T>(response: Response, status = 200): Promise<T> => {
    const text = await response.text();
    assert.equal(response.status, status, text);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    return JSON.parse(text) as T;
  };
  const get = (path: string) => local.client.get(path);
  const post = (path: string, body: unknown) => local.client.post(path, body);
  /** The probabilities TF Serving's row format gives, for the same rows. */
  const expected = async () => {
    const answer = await json<{ predictions: { label: string; probabilities: Record<string, number> }[] }>(
      await local.client.predict('iris', { instances: ROWS.map((row) => [...row]) }),
    );
    return answer.predictions;
  };

  it("replays TF Serving's REST API documentation: its request formats give its answer formats", async () => {
    const predictions = await expected();
    // "Specifying input tensors in row format": a list of instances, here as lists in the signature's order.
    const rows = await json<{ predictions: unknown[] }>(
      await post('/v1/models/iris/versions/1:predict', {
        signature_name: 'serving_default',
        instances: ROWS.map((row) => Object.fromEntries(FEATURES.map((f, i) => [f, row[i]]))),
      }),
    );
    assert.deepEqual(rows.predictions, predictions);
    // "Specifying input tensors in column format": named inputs, each a list over the instances.
    const columns = await json<{ outputs: { label: string[]; probabilities: Record<string, number[]> } }>(
      await post('/v1/models/iris:predict', {
        inputs: Object.fromEntries(FEATURES.map((f, i) => [f, ROWS.map((row) => row[i])])),
      }),
    );
    assert.deepEqual(
      columns.outputs.label,
      predictions.map((p) => p.label),
    );
    // Classify: "result" is, per example, a list of [label, score] pairs.
    const classify = await json<{ result: [string, number][][] }>(
      await post('/v1/models/iris:classify', {
        examples: ROWS.map((row) => Object.fromEntries(FEATURES.map((f, i) => [f, row[i]]))),
      }),
    );
    assert.deepEqual(
      classify.result.map((pairs) => Object.fromEntries(pairs)),
      predictions.map((p) => p.probabilities),
    );
    // The curl of the documentation: `-d` sends the JSON as a form, which is read as JSON.
    const form = await fetch(`${local.platform.endpoints.api}/v1/models/iris:predict`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-api-key': local.platform.endpoints.apiKey,
      },
      body: JSON.stringify({ instances: [[...(ROWS[0] ?? [])]] }),
    });
    assert.equal((await json<{ predictions: unknown[] }>(form)).predictions.length, 1);
    // Errors, of every kind: {"error": "…"}.
    for (const [response, status] of [
      [await post('/v1/models/iris:predict', { signature_name: 'foo', instances: [[1, 2, 3, 4]] }), 400],
      [await post('/v1/models/nosuch:predict', { instances: [[1, 2, 3, 4]] }), 404],
      [await get('/v1/models/iris/versions/99'), 404],
      [await get('/v1/nothing'), 404],
    ] as const) {
      assert.equal(typeof (await json<{ error: unknown }>(response, status)).error, 'string');
    }
  });

  it('answers the Open Inference Protocol: health, server and model metadata, readiness', async () => {
    assert.deepEqual(await json(await get('/v2/health/live')), { live: true });
    assert.deepEqual(await json(await get('/v2/health/live/')), { live: true }, 'a trailing slash too');
    assert.deepEqual(await json(await get('/v2/health/ready')), { ready: true });
    const server = await json<{ name: string; version: string; extensions: string[] }>(await get('/v2'));
    assert.equal(server.name, 'nimbus-ml');
    const metadata = await json<V2ModelMetadata>(await get('/v2/models/iris'));
    assert.deepEqual(metadata, {
      name: 'iris',
      versions: ['1'],
      platform: 'nimbus-ml',
      inputs: FEATURES.map((name) => ({ name, datatype: 'FP32', shape: [-1] })),
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    });
    assert.deepEqual(await json(await get('/v2/models/iris/versions/1')), metadata);
    assert.deepEqual(await json(await get('/v2/models/iris/ready')), { name: 'iris', ready: true });
    assert.deepEqual(await json(await get('/v2/models/iris/versions/1/ready')), {
      name: 'iris',
      ready: true,
    });
    await json(await get('/v2/models/iris/versions/9/ready'), 404);
    await json(await get('/v2/models/nosuch'), 404);
    const wrong = await local.client.get('/v2/models/iris/infer');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  it("infers on the protocol's tensors — one per feature, or one [N, F] — as TF Serving predicts, id echoed", async () => {
    const predictions = await expected();
    const answerOf = (response: V2InferenceResponse) => {
      const probabilities = response.outputs.find((o) => o.name === 'probabilities');
      const label = response.outputs.find((o) => o.name === 'label');
      assert.deepEqual(probabilities?.shape, [ROWS.length, 3]);
      assert.equal(probabilities?.datatype, 'FP32');
      assert.deepEqual(probabilities?.parameters, { classes: CLASSES });
      assert.deepEqual(label && [label.datatype, label.shape], ['BYTES', [ROWS.length]]);
      return (label?.data ?? []).map((l, i) => ({
        label: l,
        probabilities: Object.fromEntries(
          CLASSES.map((c, j) => [c, probabilities?.data[i * CLASSES.length + j]]),
        ),
      }));
    };
    // The specification's example request, with iris's inputs: an id, typed tensors, the outputs asked for.
    const perFeature = await json<V2InferenceResponse>(
      await post('/v2/models/iris/infer', {
        id: '42',
        inputs: FEATURES.map((name, i) => ({
          name,
          shape: [ROWS.length, 1],
          datatype: 'FP32',
          data: ROWS.map((row) => row[i]),
        })),
      }),
    );
    assert.equal(perFeature.id, '42');
    assert.deepEqual([perFeature.model_name, perFeature.model_version], ['iris', '1']);
    assert.deepEqual(answerOf(perFeature), predictions);
    // One [N, F] tensor, its data nested as its shape (the protocol lets data be flat or nested).
    const matrix = await json<V2InferenceResponse>(
      await post('/v2/models/iris/versions/1/infer', {
        inputs: [
          { name: 'input-0', shape: [ROWS.length, 4], datatype: 'FP64', data: ROWS.map((r) => [...r]) },
        ],
        outputs: [{ name: 'label' }],
      }),
    );
    assert.equal(matrix.id, undefined);
    assert.deepEqual(
      matrix.outputs.map((o) => [o.name, o.data]),
      [['label', predictions.map((p) => p.label)]],
    );

    // Bad requests: a 400 naming the tensor, as {"error": …}.
    const refused = async (body: unknown, pattern: RegExp) => {
      const { error } = await json<{ error: string }>(await post('/v2/models/iris/infer', body), 400);
      assert.match(error, pattern);
    };
    const tensor = (name: string, data: unknown[], extra: object = {}) => ({
      name,
      shape: [data.length],
      datatype: 'FP32',
      data,
      ...extra,
    });
    const others = FEATURES.slice(1).map((name) => tensor(name, [1]));
    await refused(
      { inputs: [tensor('sepal_length', [1, 2]), ...others] },
      /holds 1 values, input "sepal_length" 2/,
    );
    await refused({ inputs: others }, /input "sepal_length" is missing/);
    await refused({ inputs: [tensor('petals', [1]), ...others] }, /"petals" is not a feature/);
    await refused(
      { inputs: [tensor('sepal_length', ['x']), ...others] },
      /input "sepal_length" \[0\] must be a finite number/,
    );
    await refused(
      { inputs: [tensor('sepal_length', [1], { shape: [2] }), ...others] },
      /has 1 elements, its shape \[2\] says 2/,
    );
    await refused(
      { inputs: [tensor('sepal_length', [1], { datatype: 'BYTES' }), ...others] },
      /datatype BYTES: a numeric feature takes FP32/,
    );
    await refused(
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      /takes 4 features/,
    );
    await refused(
      { inputs: [tensor('sepal_length', [1]), ...others], outputs: [{ name: 'logits' }] },
      /names no output/,
    );
    await refused({ instances: [[1, 2, 3, 4]] }, /non-empty "inputs" list/);
    const binary = await fetch(`${local.platform.endpoints.api}/v2/models/iris/infer`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': '2',
        [API.apiKeyHeader]: local.platform.endpoints.apiKey,
      },
      body: '{}',
    });
    assert.equal(binary.status, 415, 'the binary tensor extension is refused by name');
    const tooMany = await post('/v2/models/iris/infer', {
      inputs: [{ name: 'x', shape: [1001, 4], datatype: 'FP32', data: [] }],
    });
    assert.ok(tooMany.status === 400 || tooMany.status === 413, String(tooMany.status));
    assert.equal(typeof ((await tooMany.json()) as { error: unknown }).error, 'string');
    const noKey = await fetch(`${local.platform.endpoints.api}/v2/models/iris/infer`, {
      method: 'POST',
      body: '{}',
    });
    assert.deepEqual([noKey.status, await noKey.json()], [403, { error: 'Forbidden' }]);
  });
}

/**
 * Scoped API keys end to end, once iris and diabetes both serve: created with `nimbus keys create`, a key for
 * iris predicts iris on both protocols and reads iris's registry routes, gets the same 403 for diabetes as for a
 * model that does not exist, lists only iris, and is refused once revoked.
 */
export function keyTests(local: Local): void {
  it('scopes an API key to its models on both protocols and the registry, and refuses it once revoked', async () => {
    const { endpoints } = local.platform;
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-keys-'));
    const endpointsFile = join(dir, 'endpoints.json');
    writeEndpointsFile(endpointsFile, endpoints);
    const cli = (...args: string[]) => nimbus(['--endpoints-file', endpointsFile, '--json', ...args]);
    try {
      const created = await cli(
        'keys',
        'create',
        '--name',
        'team-a',
        '--models',
        'iris',
        '--reason',
        'team A',
      );
      assert.equal(created.code, 0, created.stderr);
      const { key, value } = JSON.parse(created.stdout) as CreatedApiKey;
      assert.deepEqual([key.name, key.models], ['team-a', ['iris']]);
      const as = (path: string, body?: unknown) =>
        fetch(`${endpoints.api}${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { 'content-type': 'application/json', [API.apiKeyHeader]: value },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const row = [6.1, 2.8, 4.7, 1.2];
      assert.equal((await as('/v1/models/iris:predict', { instances: [row] })).status, 200);
      const v2 = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: row }] };
      assert.equal((await as('/v2/models/iris/infer', v2)).status, 200);
      assert.equal((await as('/v1/registry/models/iris')).status, 200);
      const listed = (await (await as('/v1/registry/models')).json()) as { models: { model: string }[] };
      assert.deepEqual(
        listed.models.map((m) => m.model),
        ['iris'],
      );
      // Another team's model and one that does not exist: the same answer, word for word.
      const refusals = [];
      for (const model of ['diabetes', 'no-such-model']) {
        for (const response of [
          await as(`/v1/models/${model}:predict`, { instances: [row] }),
          await as(`/v2/models/${model}/infer`, v2),
          await as(`/v1/models/${model}/metadata`),
          await as(`/v1/registry/models/${model}`),
        ]) {
          refusals.push([response.status, await response.json()]);
        }
      }
      const refusal = (model: string) => [403, { error: `this API key does not open model "${model}"` }];
      assert.deepEqual(refusals, [
        ...Array.from({ length: 4 }, () => refusal('diabetes')),
        ...Array.from({ length: 4 }, () => refusal('no-such-model')),
      ]);
      assert.equal((await as('/v1/registry/runs')).status, 403, 'a route over every model');
      // The default key still opens every model.
      assert.equal((await local.client.predict('diabetes', { instances: [] })).status, 400);

      const list = await cli('keys', 'list');
      assert.equal(list.code, 0, list.stderr);
      const { keys } = JSON.parse(list.stdout) as { keys: Record<string, unknown>[] };
      assert.deepEqual(
        keys.map((k) => [k.id, k.models, 'value' in k]),
        [[key.id, ['iris'], false]],
      );
      assert.equal((await local.client.get('/v1/registry/keys')).status, 403, 'the list is an admin route');
      const bad = await local.client.registry('/keys', { name: 'team-b', models: [], reason: 'x' });
      assert.match(((await bad.json()) as { error: string }).error, /"models" must list/);
      const longId = await local.client.registry(`/keys/${'a'.repeat(1500)}/revoke`, { reason: 'x' });
      assert.equal(longId.status, 404, 'an id no key can have is no key (not a 500)');
      const many = Array.from({ length: 101 }, (_, i) => `m${i}`);
      const tooMany = await local.client.registry('/keys', { name: 'team-c', models: many, reason: 'x' });
      assert.match(((await tooMany.json()) as { error: string }).error, /at most 100 models/);

      const revoked = await cli('keys', 'revoke', key.id, '--reason', 'team A left');
      assert.equal(revoked.code, 0, revoked.stderr);
      const after = await as('/v1/models/iris:predict', { instances: [row] });
      assert.deepEqual([after.status, await after.json()], [403, { error: 'Forbidden' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
