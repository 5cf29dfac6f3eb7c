/**
 * The `nimbus` CLI as a person or a script runs it: a child process per command (asynchronous: the emulators
 * run in this process) against a local platform on free ports. The model the tests share (iris, two versions)
 * is trained before them, not by one of them, so that a slow run fails one test, not every test after it;
 * tests that train (uploads, stop, retry) use datasets of their own. Deadlines are generous: a busy machine is
 * slow, not wrong. Plus the target resolution (stack outputs → endpoints) and the SigV4 signing, without AWS.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { signRequest } from '../cli/api.ts';
import { CliError, EXIT, table } from '../cli/output.ts';
import { typedInstance } from '../cli/predict.ts';
import { localTarget, stackTarget } from '../cli/target.ts';
import { epochsOf, stepsDone } from '../cli/watch.ts';
import type { RunRecord } from '../core/api-types.ts';
import { OUTPUTS } from '../core/contract.ts';
import { MIN_DRIFT_SAMPLES } from '../core/drift.ts';
import type { AliasEntry, ModelVersion } from '../core/model-registry.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { writeEndpointsFile } from '../local/endpoints.ts';
import type { TrainingEvent } from '../local/pipeline.ts';
import { irisExample, localPlatformFixture } from './helpers.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');
const INSTANCE = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };

interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `nimbus <args>` to its end (bounded, generously: a watched run trains on a machine that may be busy). */
function nimbus(args: readonly string[], timeoutMs = 600_000): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/nimbus.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, timeoutMs);
}

function collect(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** Asserts the exit code (showing the output when it differs) and no stack trace. */
function expectExit(result: Result, code: number): Result {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  return result;
}

/** An error is one `error:` line and a `hint:` line. */
function expectError(result: Result, code: number, message: RegExp, hint?: RegExp): void {
  expectExit(result, code);
  assert.match(result.stderr, /^error: .+$/m);
  assert.match(result.stderr, message);
  if (hint) assert.match(result.stderr, new RegExp(`^hint: .*${hint.source}`, 'm'));
  assert.equal(result.stdout, '', 'nothing on stdout');
}

describe('nimbus CLI: targets and signing (no AWS)', () => {
  it("maps a stack's CloudFormation outputs to the endpoints it uses", () => {
    const target = stackTarget('Nimbus', 'eu-west-1', {
      [OUTPUTS.apiUrl]: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/',
      [OUTPUTS.apiKeyId]: 'k3y1d',
      [OUTPUTS.datasetsBucket]: 'nimbus-datasets-123',
      [OUTPUTS.artifactsBucket]: 'nimbus-artifacts-123',
      [OUTPUTS.datasetsTable]: 'Nimbus-Datasets',
      [OUTPUTS.runsTable]: 'Nimbus-Runs',
      [OUTPUTS.modelsTable]: 'Nimbus-Models',
      [OUTPUTS.stateMachine]: 'arn:aws:states:eu-west-1:1:stateMachine:p',
    });
    assert.deepEqual(target, {
      kind: 'stack',
      source: 'stack Nimbus (eu-west-1)',
      region: 'eu-west-1',
      api: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      apiKeyId: 'k3y1d',
      datasetsBucket: 'nimbus-datasets-123',
      artifactsBucket: 'nimbus-artifacts-123',
      tables: { datasets: 'Nimbus-Datasets', runs: 'Nimbus-Runs', models: 'Nimbus-Models' },
    });
    assert.equal(target.local, undefined, 'a stack uses the default credential chain');
  });

  it("refuses a stack without the platform's outputs, naming them (exit 3)", () => {
    assert.throws(
      () => stackTarget('Other', 'us-east-1', { [OUTPUTS.apiUrl]: 'https://x/prod/' }),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === EXIT.notFound &&
        /stack Other has no output ApiKeyId, DatasetsBucketName/.test(error.message),
    );
  });

  it('maps a local endpoints file to the emulators, the API key and the admin key', () => {
    const target = localTarget(
      {
        s3: 'http://127.0.0.1:1',
        dynamodb: 'http://127.0.0.1:2',
        api: 'http://127.0.0.1:3/',
        stepFunctions: 'http://127.0.0.1:4',
        region: 'us-east-1',
        accessKeyId: 'A',
        secretAccessKey: 'S',
        apiKey: 'key',
        adminKey: 'admin',
        datasetsBucket: 'd',
        artifactsBucket: 'a',
        tables: { datasets: 'td', runs: 'tr', models: 'tm' },
        stateMachineArn: 'arn',
        dashboard: 'http://127.0.0.1:3/dashboard/',
      },
      'e.json',
    );
    assert.equal(target.api, 'http://127.0.0.1:3');
    assert.equal(target.adminKey, 'admin');
    assert.deepEqual(target.local, {
      s3: 'http://127.0.0.1:1',
      dynamodb: 'http://127.0.0.1:2',
      accessKeyId: 'A',
      secretAccessKey: 'S',
    });
  });

  it('signs registry changes for API Gateway IAM (SigV4, service execute-api)', async () => {
    const headers = await signRequest(
      {
        url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/registry/models/iris/aliases/production',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"version":2,"reason":"r"}',
      },
      'eu-west-1',
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    );
    assert.match(
      headers.authorization ?? '',
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    assert.equal(headers['x-amz-security-token'], 'token');
    assert.equal(headers.host, undefined, 'fetch sets Host itself');
  });

  it('types CSV cells by the model signature, and tracks steps and epochs', () => {
    const signature = {
      kind: 'tabular' as const,
      task: 'classification' as const,
      label: 'y',
      classes: ['a', 'b'],
      features: [
        { name: 'x', type: 'numeric' as const },
        { name: 'zip', type: 'categorical' as const, categories: ['02139'] },
      ],
    };
    assert.deepEqual(typedInstance({ x: '1.5', zip: '02139', y: 'a' }, signature), { x: 1.5, zip: '02139' });
    assert.deepEqual(typedInstance({ x: '', zip: '7' }, signature), { x: null, zip: '7' });
    assert.equal(stepsDone({ status: 'RUNNING', step: 'Search' }), 2);
    assert.equal(stepsDone({ status: 'RUNNING', step: 'WaitForApproval' }), 5);
    assert.equal(stepsDone({ status: 'SUCCEEDED', step: 'Deploy' }), 7);
    const progress = {
      runId: 'r',
      status: 'RUNNING' as const,
      steps: [],
      trials: [
        { epoch: 10, epochs: 20 },
        { epoch: 5, epochs: 20 },
      ],
    };
    assert.deepEqual(epochsOf(progress), { epoch: 15, epochs: 40 });
    assert.deepEqual(
      table(
        [{ a: 'x', n: 1 }],
        [
          { header: 'A', value: (r) => r.a },
          { header: 'NUM', value: (r) => r.n, right: true },
          { header: 'C', value: () => undefined },
        ],
      ),
      ['A  NUM  C', 'x    1  -'],
    );
  });
});

describe('nimbus CLI against a local platform', () => {
  // Every prediction captured at once, so that `monitor status` has drift to show.
  const local = localPlatformFixture({ captureRate: 1, captureFlushMs: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-cli-'));
  const endpointsFile = join(dir, 'endpoints.json');
  const cli = (...args: string[]) => nimbus(['--endpoints-file', endpointsFile, ...args]);
  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse(expectExit(await cli('--json', ...args), 0).stdout) as T;
  /** The first iris run (v1); the second, of the same rows in another order, is v2. */
  let runId = '';

  before(async () => {
    writeEndpointsFile(endpointsFile, local.platform.endpoints);
    const { client } = local;
    await client.upload('datasets/iris/iris.csv', readFileSync(IRIS));
    const [first] = await client.waitForRuns('iris', 1);
    assert.equal(first?.status, 'SUCCEEDED', first?.reason);
    runId = first.runId;
    const [header, ...rows] = readFileSync(IRIS, 'utf8').trim().split(/\r?\n/);
    await client.upload(
      'datasets/iris/iris-reordered.csv',
      `${[header, ...rows.slice(70), ...rows.slice(0, 70)].join('\n')}\n`,
    );
    const both = await client.waitForRuns('iris', 2);
    assert.ok(
      both.every((run) => run.status === 'SUCCEEDED'),
      JSON.stringify(both.map((r) => r.reason)),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uploads a CSV (CRLF), watches its run to success with progress on stderr, and a second with --watch', async () => {
    // iris as a file of its own name: the dataset `petals`.
    const petals = join(dir, 'petals.csv');
    writeFileSync(petals, readFileSync(IRIS));
    const upload = await json<{ key: string; version: string; runId: string; newRun: boolean }>(
      'datasets',
      'upload',
      petals,
    );
    assert.equal(upload.key, 'datasets/petals/petals.csv');
    assert.equal(upload.newRun, true);
    assert.match(upload.version, /^[0-9a-f]{16}$/);
    const first = upload.runId;

    const watched = expectExit(await cli('runs', 'watch', first), 0);
    for (const step of ['RegisterDataset', 'Preprocess', 'Train', 'Evaluate', 'RegisterModel', 'Deploy']) {
      assert.match(watched.stderr, new RegExp(`run ${first.slice(0, 8)}  ${step}\\n`));
    }
    assert.match(watched.stderr, /epoch \d+\/120/);
    assert.match(watched.stderr, /SUCCEEDED/);
    assert.match(
      watched.stdout,
      new RegExp(`run ${first} SUCCEEDED in .+: petals v1, serving as production`),
    );

    const again = expectExit(await cli('datasets', 'upload', petals), 0);
    assert.match(again.stdout, new RegExp(`registered by run ${first}: no new run`));

    // The same rows in another order: a new dataset version, a second model version, followed with --watch.
    const variant = join(dir, 'petals-reordered.csv');
    const [header, ...rows] = readFileSync(IRIS, 'utf8').trim().split(/\r?\n/);
    writeFileSync(variant, `${[header, ...rows.slice(70), ...rows.slice(0, 70)].join('\r\n')}\r\n`);
    const second = expectExit(await cli('datasets', 'upload', variant, '--name', 'petals', '--watch'), 0);
    assert.match(
      second.stderr,
      /uploaded s3:\/\/nimbus-datasets\/datasets\/petals\/petals-reordered\.csv: run \S+ started/,
    );
    assert.match(second.stderr, /epoch 120\/120/);
    assert.match(second.stdout, /SUCCEEDED in .+: petals v2/);
  });

  it('lists and shows datasets, and prints the validation report', async () => {
    const [list, show, report, human] = await Promise.all([
      json<{ datasets: { name: string; versions: number; status: string; rows: number }[] }>(
        'datasets',
        'list',
      ),
      json<{ versions: { version: string; status: string; firstRunId: string }[] }>(
        'datasets',
        'show',
        'iris',
      ),
      json<{ valid: boolean; rowCount: number }>('datasets', 'report', 'iris'),
      cli('datasets', 'report', 'iris'),
    ]);
    const iris = list.datasets.find((d) => d.name === 'iris');
    assert.deepEqual([iris?.versions, iris?.status, iris?.rows], [2, 'REGISTERED', 150]);
    assert.equal(show.versions.length, 2);
    assert.equal(show.versions[0]?.firstRunId, runId, 'oldest first');
    assert.deepEqual([report.valid, report.rowCount], [true, 150]);
    assert.match(expectExit(human, 0).stdout, /^iris@[0-9a-f]{16} {2}valid {2}150 rows, csv/);
    assert.match(human.stdout, /previous version: [0-9a-f]{16}/);
    assert.match(human.stdout, /column species\s+label/);
    const first = await json<{ rowCount: number }>(
      'datasets',
      'report',
      'iris',
      '--version',
      show.versions[0]?.version.slice(0, 6) ?? '',
    );
    assert.equal(first.rowCount, 150);
  });

  it('lists runs, newest first, with --dataset and --limit', async () => {
    const [{ runs }, newest, human] = await Promise.all([
      json<{ runs: RunRecord[] }>('runs', 'list', '--dataset', 'iris', '--limit', '5'),
      json<{ runs: RunRecord[] }>('runs', 'list', '--dataset', 'iris', '--limit', '1'),
      cli('runs', 'list'),
    ]);
    assert.deepEqual(
      runs.map((r) => [r.status, r.modelVersion]),
      [
        ['SUCCEEDED', 2],
        ['SUCCEEDED', 1],
      ],
    );
    assert.equal(runs[1]?.runId, runId);
    assert.deepEqual(
      newest.runs.map((r) => r.modelVersion),
      [2],
    );
    assert.match(expectExit(human, 0).stdout, /^RUN\s+DATASET\s+VERSION\s+STATUS/);
    assert.match(human.stdout, new RegExp(`${runId}\\s+iris\\s+[0-9a-f]{16}\\s+SUCCEEDED`));
  });

  it('lists and shows models with metrics, status and aliases', async () => {
    const [list, show, human] = await Promise.all([
      json<{ models: { model: string; latestVersion: number }[] }>('models', 'list'),
      json<{ versions: ModelVersion[]; aliases: { alias: string; version: number }[] }>(
        'models',
        'show',
        'iris',
      ),
      cli('models', 'show', 'iris'),
    ]);
    assert.equal(list.models.find((m) => m.model === 'iris')?.latestVersion, 2);
    assert.deepEqual(
      show.versions.map((v) => v.version),
      [1, 2],
    );
    assert.equal(show.versions[0]?.status, 'approved', 'the gate approved v1');
    assert.match(show.versions[1]?.status ?? '', /^(approved|registered)$/, 'v2: whatever the gate decided');
    assert.ok((show.versions[0]?.metrics.accuracy ?? 0) >= 0.9);
    assert.deepEqual(
      show.aliases.map((a) => a.alias),
      ['production'],
    );
    assert.match(expectExit(human, 0).stdout, /VERSION\s+STATUS\s+ACCURACY\s+MACROF1/);
    assert.match(human.stdout, /\n\s+1\s+approved\s+[01]\.\d{4}\s+[01]\.\d{4}\s+[0-9a-f]{16}\s+\S+/);
    assert.match(human.stdout, /ALIAS\s+SERVES\s+REV/);
  });

  it('promotes, rolls back and shows the history of an alias, each change with its reason', async () => {
    const first = await json<AliasEntry>(
      'models',
      'promote',
      'iris',
      '1',
      '--alias',
      'staging',
      '--reason',
      'try',
    );
    assert.deepEqual([first.revision, first.state.version, first.why], [1, 1, 'try']);
    const human = expectExit(
      await cli('models', 'promote', 'iris', '2', '--alias', 'staging', '--reason', 'newer'),
      0,
    );
    assert.match(human.stdout, /staging of iris: v1 -> v2 \(promote, revision 2\)/);
    const back = await json<AliasEntry>(
      'models',
      'rollback',
      'iris',
      '--alias',
      'staging',
      '--reason',
      'undo',
    );
    assert.deepEqual([back.action, back.revision, back.state.version, back.undoes], ['rollback', 3, 1, 2]);

    const [{ history }, production, audit] = await Promise.all([
      json<{ history: AliasEntry[] }>('models', 'history', 'iris', '--alias', 'staging'),
      cli('models', 'history', 'iris'),
      json<{ audit: { action: string }[] }>('models', 'history', 'iris', '--all'),
    ]);
    assert.deepEqual(
      history.map((e) => [e.revision, e.action, e.state.version, e.why]),
      [
        [1, 'promote', 1, 'try'],
        [2, 'promote', 2, 'newer'],
        [3, 'rollback', 1, 'undo'],
      ],
    );
    assert.match(expectExit(production, 0).stdout, /AT\s+REV\s+ACTION\s+FROM\s+TO\s+BY\s+REASON/);
    assert.match(production.stdout, /1\s+promote\s+-\s+v1\s+pipeline:/);
    assert.ok(audit.audit.filter((e) => e.action === 'rollback').length === 1);

    // An alias changed once has nothing earlier to roll back to: a 409, the operation failed.
    await json('models', 'promote', 'iris', '2', '--alias', 'nightly', '--reason', 'first');
    expectError(
      await cli('models', 'rollback', 'iris', '--alias', 'nightly', '--reason', 'nothing'),
      EXIT.failed,
      /nightly of iris has no earlier state to roll back to/,
    );
  });

  it('predicts from --data and from a CSV typed by the model signature', async () => {
    const csv = join(dir, 'flowers.csv');
    writeFileSync(
      csv,
      'species,sepal_length,sepal_width,petal_length,petal_width\r\n?,5.1,3.5,1.4,0.2\r\n?,6.1,2.8,4.7,1.2\r\n',
    );
    const [rows, human, byLabel, bad] = await Promise.all([
      json<{ predictions: { label: string }[]; model_version: number }>(
        'predict',
        'iris',
        '--data',
        JSON.stringify(INSTANCE),
      ),
      cli('predict', 'iris', '--file', csv, '--version', '1'),
      json<{ model_version: number }>(
        'predict',
        'iris',
        '--label',
        'staging',
        '--data',
        JSON.stringify({ instances: [INSTANCE] }),
      ),
      cli('predict', 'iris', '--data', JSON.stringify({ ...INSTANCE, sepal_length: 'long' })),
    ]);
    assert.deepEqual(
      rows.predictions.map((p) => p.label),
      ['versicolor'],
    );
    assert.match(
      expectExit(human, 0).stdout,
      /#\s+PREDICTION\s+PROBABILITY\n\s*0\s+setosa\s+[01]\.\d{4}\n\s*1\s+versicolor\s+[01]\.\d{4}\n\(iris v1\)/,
    );
    assert.equal(byLabel.model_version, 1, 'staging was rolled back to v1');
    expectError(bad, EXIT.failed, /sepal_length/);
  });

  it('prints the export lines of the running platform, and its endpoints without secrets', async () => {
    const { endpoints } = local.platform;
    const [env, redacted, full] = await Promise.all([
      cli('local', 'env'),
      json<Record<string, unknown>>('local', 'env'),
      json<Record<string, unknown>>('local', 'env', '--show-secrets'),
    ]);
    assert.match(expectExit(env, 0).stdout, new RegExp(`^export AWS_ENDPOINT_URL_S3=${endpoints.s3}$`, 'm'));
    assert.match(env.stdout, /^export AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED$/m);
    assert.equal(redacted.api, endpoints.api);
    for (const secret of ['apiKey', 'adminKey', 'secretAccessKey']) assert.equal(redacted[secret], undefined);
    assert.equal(full.adminKey, endpoints.adminKey);
  });

  it('answers errors with one line, a hint and the exit code that says why', async () => {
    const wrongAdmin = join(dir, 'wrong-admin.json');
    writeEndpointsFile(wrongAdmin, { ...local.platform.endpoints, adminKey: 'not-the-key' });
    const stale = join(dir, 'stale.json');
    writeEndpointsFile(stale, {
      ...local.platform.endpoints,
      api: 'http://127.0.0.1:1',
      s3: 'http://127.0.0.1:1',
    });
    const [
      unknownModel,
      noRun,
      noPlatform,
      stopped,
      staleEnv,
      forbidden,
      usage,
      noData,
      badVersion,
      folder,
      unknownMonitored,
      fastPoll,
    ] = await Promise.all([
      cli('models', 'show', 'nope'),
      cli('runs', 'watch', 'no-such-run'),
      nimbus(['--endpoints-file', join(dir, 'missing.json'), 'models', 'list']),
      nimbus(['--endpoints-file', stale, 'runs', 'list']),
      nimbus(['--endpoints-file', stale, 'local', 'env']),
      nimbus(['--endpoints-file', wrongAdmin, 'models', 'promote', 'iris', '1', '--reason', 'x']),
      cli('models', 'promote', 'iris', '--reason', 'x'),
      cli('predict', 'iris'),
      cli('models', 'promote', 'iris', 'one', '--reason', 'x'),
      cli('datasets', 'upload', dir, '--name', 'iris'),
      cli('monitor', 'status', 'nope'),
      cli('runs', 'watch', '--interval', '0'),
    ]);
    expectError(unknownModel, EXIT.notFound, /no model "nope"/, /`nimbus models list`/);
    expectError(noRun, EXIT.notFound, /no run no-such-run/, /`nimbus runs list`/);
    expectError(noPlatform, EXIT.unreachable, /no local platform at .*missing\.json/, /`nimbus local up`/);
    expectError(
      stopped,
      EXIT.unreachable,
      /cannot reach the platform at http:\/\/127\.0\.0\.1:1/,
      /nimbus local up/,
    );
    expectError(staleEnv, EXIT.unreachable, /is not running/, /nimbus local up/);
    expectError(forbidden, EXIT.forbidden, /registry change refused \(HTTP 403/, /admin key/);
    expectError(usage, EXIT.usage, /error: missing required argument 'version'/, /--help/);
    expectError(noData, EXIT.usage, /either --data or --file/);
    expectError(badVersion, EXIT.usage, /whole number/);
    expectError(folder, EXIT.usage, /is not a file/, /_SUCCESS/);
    expectError(unknownMonitored, EXIT.notFound, /no model "nope"/, /`nimbus models list`/);
    expectError(fastPoll, EXIT.usage, /a number from 0\.5/);
  });

  it('shows the alarms and the newest drift report of each model; --check fails while one is in ALARM', async () => {
    const { client, platform } = local;
    // Iris measured with petals 2.5 cm too long, each flower twice: one monitor window of drifted traffic
    // (a window needs MIN_DRIFT_SAMPLES instances).
    const shifted = [...irisExample().rows, ...irisExample().rows].map((row) => ({
      ...row,
      petal_length: (row.petal_length ?? 0) + 2.5,
    }));
    assert.ok(shifted.length >= MIN_DRIFT_SAMPLES);
    const response = await client.predict('iris', { instances: shifted });
    assert.equal(response.status, 200, await response.text());
    await platform.flushCapture();
    await platform.monitoring.runDriftMonitor();

    const [status, human, check] = await Promise.all([
      json<{
        alarms: { name: string; state: string }[];
        drift: { model: string; threshold: number; report: { score: number; samples: number } | null }[];
      }>('monitor', 'status'),
      cli('monitor', 'status', 'iris'),
      cli('monitor', 'status', '--check'),
    ]);
    assert.equal(status.alarms.find((a) => a.name === 'nimbus/iris/drift')?.state, 'ALARM');
    assert.ok(
      status.drift.some((d) => d.model === 'iris'),
      'a drift report per model',
    );
    const iris = status.drift.find((d) => d.model === 'iris');
    assert.ok(iris?.report && iris.report.score > iris.threshold, JSON.stringify(iris));
    assert.ok(iris.report.samples >= shifted.length, `${iris.report.samples} samples`);
    assert.match(expectExit(human, 0).stdout, /MODEL\s+DRIFT\s+THRESHOLD\s+STATE/);
    assert.match(expectExit(human, 0).stdout, /nimbus\/iris\/drift\s+drift\s+iris\s+ALARM/);
    expectExit(check, EXIT.failed);
    assert.match(check.stderr, /nimbus\/iris\/drift/);
  });

  it('stops a running run: its training job ends, and the run is FAILED with the reason', async () => {
    const { client, platform } = local;
    // A job that would train for its whole budget: 10,000 epochs of one-row batches, no early stopping.
    const training = new Promise<{ runId: string; pid: number }>((resolve) => {
      const listener = (event: TrainingEvent) => {
        if (event.event !== 'epoch' || typeof event.pid !== 'number') return;
        platform.pipeline.off('training', listener);
        resolve({ runId: event.runId, pid: event.pid });
      };
      platform.pipeline.on('training', listener);
    });
    await client.upload(
      'datasets/endless/dataset.json',
      JSON.stringify({ hyperparameters: { epochs: 10_000, batchSize: 1, patience: 0 } }),
    );
    await client.upload('datasets/endless/iris.csv', readFileSync(IRIS, 'utf8'));
    const { runId: stopped, pid } = await training;

    const stop = expectExit(await cli('runs', 'stop', stopped, '--reason', 'wrong file'), 0);
    assert.match(
      stop.stdout,
      new RegExp(`run ${stopped} FAILED: stopped after [\\d.]+ (s|min), in \\w+: wrong file \\(.+\\)`),
    );
    const run = await client.registryJson<RunRecord>(`/runs/${stopped}`);
    assert.equal(run.status, 'FAILED');
    assert.match(run.reason ?? '', /wrong file/);
    assert.ok(run.finishedAt, 'when it ended');
    // The training process was stopped with its execution, not left to run its 10,000 epochs.
    const deadline = Date.now() + 60_000;
    while (isAlive(pid)) {
      assert.ok(Date.now() < deadline, `training process ${pid} still runs`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // … and not started again, as a job stopped from outside would be while its execution runs: once the
    // execution has ended, no job of it starts.
    await platform.pipeline.idle();
    assert.deepEqual(
      platform.pipeline.runningJobs.filter((job) => job.includes(stopped)),
      [],
      'no training job of the stopped run',
    );
    assert.equal((await client.registry('/models/endless')).status, 404, 'no model registered');

    const again = await cli('runs', 'stop', stopped);
    expectExit(again, EXIT.failed);
    assert.match(again.stderr, /already ended FAILED/);
    expectExit(await cli('runs', 'stop', 'no-such-run'), EXIT.notFound);

    // A run that says RUNNING though its execution is gone (it ended without a word): ended by the stop.
    const now = new Date().toISOString();
    await client.db.send(
      new PutCommand({
        TableName: client.endpoints.tables.runs,
        Item: {
          runId: 'stale',
          status: 'RUNNING',
          dataset: 'endless',
          datasetKey: 'datasets/endless/x.csv',
          startedAt: now,
          updatedAt: now,
        },
      }),
    );
    const stale = expectExit(await cli('runs', 'stop', 'stale', '--reason', 'cleanup'), 0);
    assert.match(
      stale.stdout,
      /run stale FAILED: stopped: its execution had already ended \(it no longer exists\): cleanup/,
    );
  });

  it('uploads again bytes whose runs all failed as a new run, and retries a failed run once', async () => {
    const { client } = local;
    await client.upload(
      'datasets/cli-retry/dataset.json',
      JSON.stringify({ hyperparameters: { batchSize: 0 } }),
    );
    const file = join(dir, 'iris.csv');
    writeFileSync(file, readFileSync(IRIS));
    const first = await json<{ runId: string; newRun: boolean }>(
      'datasets',
      'upload',
      file,
      '--name',
      'cli-retry',
    );
    assert.equal(first.newRun, true);
    const [failedFirst] = await client.waitForRuns('cli-retry');
    assert.equal(failedFirst?.status, 'FAILED');
    // The same bytes again: the only run on them failed, so the upload starts (and names) a new one.
    const again = await json<{ runId: string; newRun: boolean }>(
      'datasets',
      'upload',
      file,
      '--name',
      'cli-retry',
    );
    assert.equal(again.newRun, true);
    assert.notEqual(again.runId, first.runId);
    const failed = (await client.waitForRuns('cli-retry', 2)).find((r) => r.runId === again.runId);
    assert.equal(failed?.status, 'FAILED');
    await client.upload(
      'datasets/cli-retry/dataset.json',
      JSON.stringify({ hyperparameters: { epochs: 10 } }),
    );
    const retried = expectExit(
      await cli('runs', 'retry', failed.runId, '--reason', 'manifest fixed', '--watch'),
      0,
    );
    assert.match(
      retried.stdout,
      new RegExp(`^run (retry-\\S+) retries ${failed.runId} \\(cli-retry\\)`, 'm'),
    );
    assert.match(retried.stdout, /run retry-\S+ SUCCEEDED in .+: cli-retry v1, serving as production/);
    const twice = await cli('runs', 'retry', failed.runId);
    expectExit(twice, EXIT.failed);
    assert.match(twice.stderr, /already retried by run retry-/);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('nimbus local up', () => {
  it('starts the platform in the foreground, writes its endpoints, and stops cleanly on Ctrl+C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-up-'));
    try {
      const endpointsFile = join(dir, 'endpoints.json');
      const ports = [
        '--s3-port',
        '0',
        '--dynamodb-port',
        '0',
        '--api-port',
        '0',
        '--step-functions-port',
        '0',
      ];
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'cli/nimbus.ts', 'local', 'up', '--no-demo', '--data-dir', join(dir, 'data')]
          .concat(ports)
          .concat(['--endpoints-file', endpointsFile]),
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const done = collect(child, 600_000);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const deadline = Date.now() + 60_000;
      while (!/Serving\. Press Ctrl\+C/.test(output)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `not serving: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(existsSync(endpointsFile));
      const env = expectExit(await nimbus(['--endpoints-file', endpointsFile, 'local', 'env']), 0);
      const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as { s3: string };
      assert.match(env.stdout, new RegExp(`export AWS_ENDPOINT_URL_S3=${endpoints.s3}`));

      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Stopping…/);
      const after = await nimbus(['--endpoints-file', endpointsFile, 'local', 'env']);
      expectError(after, EXIT.unreachable, /is not running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
