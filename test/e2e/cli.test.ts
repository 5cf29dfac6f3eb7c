/**
 * The `nimbus` CLI as a person or a script runs it: a child process per command (asynchronous: the emulators
 * run in this process) against a local platform on free ports, reading what the platform holds and changing
 * the registry. The model the tests share (iris, two versions) is trained before them, not by one of them, so
 * that a slow run fails one test, not every test after it. Deadlines are generous: a busy machine is slow, not
 * wrong. The commands that train (uploads, stop, retry): cli-runs.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../cli/output.ts';
import type { RunRecord } from '../../core/api-types.ts';
import { MIN_DRIFT_SAMPLES } from '../../core/drift.ts';
import type { AliasEntry, ModelVersion } from '../../core/model-registry.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import { irisExample, localPlatformFixture } from '../helpers.ts';
import { collect, expectError, expectExit, nimbus } from '../nimbus-cli.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');
const INSTANCE = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };

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
    assert.match(
      expectExit(human, 0).stdout,
      /VERSION\s+STATUS\s+ACCURACY\s+MACROF1\s+WEIGHTEDF1\s+ROCAUC\s+LOGLOSS/,
    );
    assert.match(
      human.stdout,
      /\n\s+1\s+approved\s+[01]\.\d{4}\s+[01]\.\d{4}\s+[01]\.\d{4}\s+[01]\.\d{4}\s+\d+\.\d{4}\s+[0-9a-f]{16}\s+\S+/,
    );
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
      noVersion,
      noReason,
      jsonUsage,
      jsonMissing,
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
      cli('models', 'promote', 'iris'),
      cli('models', 'promote', 'iris', '1'),
      cli('--json', 'models', 'promote', 'iris'),
      nimbus(['--json', '--endpoints-file', join(dir, 'missing.json'), 'models', 'list']),
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
    // The argument missing is named before an option missing, and a missing option says what it is for.
    expectError(noVersion, EXIT.usage, /missing required argument 'version'/);
    assert.doesNotMatch(noVersion.stderr, /--reason/);
    expectError(
      noReason,
      EXIT.usage,
      /missing required option --reason <text>: why/,
      /models promote --help/,
    );
    // With --json, an error is JSON on stdout too, with its exit code.
    for (const [result, code, pattern] of [
      [jsonUsage, EXIT.usage, /missing required argument 'version'/],
      [jsonMissing, EXIT.unreachable, /no local platform at .*missing\.json/],
    ] as const) {
      expectExit(result, code);
      const answer = JSON.parse(result.stdout) as { error: string; hint?: string; exitCode: number };
      assert.match(answer.error, pattern);
      assert.equal(answer.exitCode, code);
      assert.ok(answer.hint, 'a hint');
    }
  });

  it('runs from the bundle `npm install` builds, as it does from the TypeScript', async () => {
    const out = join(dir, 'bundle');
    const build = await collect(
      spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'build-cli.mjs'), out], { cwd: REPO_ROOT }),
      120_000,
    );
    expectExit(build, 0);
    const bundled = async (...args: string[]) =>
      collect(
        spawn(process.execPath, [join(out, 'nimbus.js'), '--endpoints-file', endpointsFile, ...args], {
          cwd: REPO_ROOT,
        }),
        120_000,
      );
    const help = expectExit(await bundled('--help'), 0);
    for (const group of ['local', 'datasets', 'runs', 'models', 'predict', 'monitor', 'keys']) {
      assert.match(help.stdout, new RegExp(`^  ${group}\\b`, 'm'));
    }
    const fromBundle = JSON.parse(expectExit(await bundled('--json', 'models', 'show', 'iris'), 0).stdout);
    assert.deepEqual(fromBundle, await json('models', 'show', 'iris'));
    const predicted = expectExit(await bundled('predict', 'iris', '--data', JSON.stringify(INSTANCE)), 0);
    assert.match(predicted.stdout, /versicolor/);
    expectError(
      await bundled('models', 'promote', 'iris'),
      EXIT.usage,
      /missing required argument 'version'/,
    );
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
});
