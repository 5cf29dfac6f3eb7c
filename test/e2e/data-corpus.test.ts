/**
 * Bad data, end to end: a corpus of malformed datasets, each uploaded to the local platform as a user would.
 * Every one must end in a FAILED run whose reason points to the validation report, the report must carry
 * the right error finding, and no model may be registered. Warnings must not stop a run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Baseline } from '../../core/baseline.ts';
import { KEYS } from '../../core/keys.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import type { ValidationReport } from '../../core/validation/report.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import { localPlatformFixture } from '../helpers.ts';

const run = promisify(execFile);

const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'), 'utf8');
const irisLines = IRIS.trim().split(/\r?\n/);
/** 12 good rows of two classes, to break one way at a time. */
const rows = (n = 12) => Array.from({ length: n }, (_, i) => `${i},${(i * 7) % 5},${i % 2 ? 'yes' : 'no'}`);
const table = (header: string, body: string[]) => `${header}\n${body.join('\n')}\n`;

interface Case {
  readonly name: string;
  readonly code: string;
  readonly body: string | Uint8Array;
  readonly file?: string;
  readonly manifest?: object;
}

const corpus: Case[] = [
  { name: 'empty', code: 'empty-file', body: '' },
  { name: 'header-only', code: 'no-rows', body: 'a,b,label\n' },
  {
    name: 'no-header',
    code: 'no-header',
    body: rows()
      .map((r) => r.replace(/yes|no/, (m) => (m === 'yes' ? '1' : '0')))
      .join('\n'),
  },
  { name: 'ragged', code: 'ragged-rows', body: table('a,b,label', [...rows(), '1,2', '3,4,yes,extra']) },
  {
    name: 'binary',
    code: 'not-utf8',
    body: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff]),
  },
  {
    name: 'latin1',
    code: 'not-utf8',
    body: new Uint8Array([...Buffer.from('name,label\ncaf'), 0xe9, ...Buffer.from(',x\n')]),
  },
  { name: 'nul-bytes', code: 'not-utf8', body: `a,b,label\n1,2\u0000,yes\n` },
  {
    name: 'one-class',
    code: 'one-class',
    body: table(
      'a,b,label',
      rows().map((r) => r.replace(/no$/, 'yes')),
    ),
  },
  {
    name: 'all-missing',
    code: 'all-missing',
    body: table(
      'a,empty,label',
      rows().map((r) => r.replace(/^(\d+),\d+,/, '$1,,')),
    ),
  },
  { name: 'duplicate-columns', code: 'duplicate-column', body: table('a,a,label', rows()) },
  { name: 'blank-column', code: 'blank-column-name', body: table('a,,label', rows()) },
  {
    name: 'one-column',
    code: 'too-few-columns',
    body: table(
      'label',
      rows().map((r) => r.split(',')[2] as string),
    ),
  },
  { name: 'label-gaps', code: 'label-missing', body: table('a,b,label', [...rows(), '99,1,', '98,2,NA']) },
  {
    name: 'huge-field',
    code: 'record-too-large',
    body: `a,b,label\n1,${'x'.repeat(10 * 1024 * 1024)},yes\n`,
  },
  {
    name: 'formulas',
    code: 'formula-cells',
    body: table('a,b,label', [...rows(), '=HYPERLINK("http://x"),1,yes', '@SUM(A1),2,no']),
  },
  { name: 'too-few-rows', code: 'too-few-rows', body: table('a,b,label', rows(5)) },
  {
    name: 'rare-class',
    code: 'rare-class',
    body: table('a,b,label', [...rows(), '50,1,maybe', '51,2,maybe']),
  },
  {
    name: 'leakage',
    code: 'label-leakage',
    body: table(
      'a,copy,label',
      rows().map((r) => r.replace(/^(\d+),\d+,(\w+)$/, '$1,$2,$2')),
    ),
  },
  { name: 'unterminated-quote', code: 'not-csv', body: 'a,b,label\n1,"open,yes\n2,3,no\n' },
  {
    name: 'label-not-in-header',
    code: 'label-not-found',
    body: table('a,b,label', rows()),
    manifest: { label: 'target' },
  },
  {
    name: 'text-regression',
    code: 'non-numeric-label',
    body: table('a,b,label', rows()),
    manifest: { task: 'regression' },
  },
  {
    name: 'forced-numeric',
    code: 'non-numeric-values',
    body: table(
      'a,colour,label',
      rows().map((r) => r.replace(/,\d+,/, ',red,')),
    ),
    manifest: { types: { colour: 'numeric' } },
  },
  {
    name: 'ignore-unknown',
    code: 'unknown-column',
    body: table('a,b,label', rows()),
    manifest: { ignore: ['id'] },
  },
  {
    name: 'ignore-label',
    code: 'label-ignored',
    body: table('a,b,label', rows()),
    manifest: { ignore: ['label'] },
  },
  {
    name: 'only-constant',
    code: 'no-features',
    body: table(
      'k,label',
      rows().map((r) => `1,${r.split(',')[2]}`),
    ),
  },
  {
    name: 'jsonl-broken',
    code: 'invalid-json-lines',
    file: 'data.jsonl',
    body: '{"a": 1, "label": "x"}\n{"a": 2, "label": \n',
  },
  { name: 'jsonl-arrays', code: 'invalid-json-lines', file: 'data.jsonl', body: '[1, "x"]\n[2, "y"]\n' },
  { name: 'whitespace', code: 'no-header', body: '\n\n   \n' },
  {
    name: 'free-text',
    code: 'cell-too-long',
    body: table(
      'a,notes,label',
      rows().map((r, i) => r.replace(/^(\d+),\d+,/, `$1,${'word '.repeat(300)}${i},`)),
    ),
  },
  { name: 'proto-column', code: 'reserved-column-name', body: table('__proto__,b,label', rows()) },
  {
    name: 'jsonl-huge-line',
    code: 'record-too-large',
    file: 'data.jsonl',
    body: `{"a": "${'x'.repeat(3 * 1024 * 1024)}", "label": "y"}\n`,
  },
];

describe('bad data, end to end', () => {
  const local = localPlatformFixture();

  it(`rejects each of ${corpus.length} malformed datasets with the right finding in its report, registering no model`, async () => {
    const { client } = local;
    assert.ok(corpus.length >= 25);
    for (const c of corpus) {
      if (c.manifest) await client.upload(KEYS.manifest(c.name), JSON.stringify(c.manifest));
      await client.upload(`${KEYS.datasetPrefix(c.name)}${c.file ?? 'data.csv'}`, c.body);
    }
    for (const c of corpus) {
      const [run] = await client.waitForRuns(c.name, 1);
      assert.equal(run?.status, 'FAILED', `${c.name}: ${run?.status}`);
      assert.match(run.reason ?? '', /^DatasetValidationError: /, c.name);
      const match = /\(report: s3:\/\/[^/]+\/(versions\/[^)]+)\)$/.exec(run.reason ?? '');
      assert.ok(match?.[1], `${c.name}: the reason points to the report: ${run.reason}`);
      const report = await client.datasetJson<ValidationReport>(match[1]);
      assert.equal(report.valid, false);
      const codes = report.findings.filter((f) => f.severity === 'error').map((f) => f.code);
      assert.ok(codes.includes(c.code), `${c.name}: expected ${c.code}, got ${codes.join(', ')}`);
      assert.deepEqual(await client.modelItems(c.name), [], `${c.name}: no model`);
    }
  });

  it("shows a version's report on the command line: the findings, and a clear error for an unknown dataset", async () => {
    const { platform } = local;
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-cli-'));
    try {
      const endpointsFile = join(dir, 'endpoints.json');
      writeEndpointsFile(endpointsFile, platform.endpoints);
      const cli = (args: string[]) =>
        run(
          process.execPath,
          [
            '--import',
            'tsx',
            join(REPO_ROOT, 'cli', 'nimbus.ts'),
            'datasets',
            ...args,
            '--endpoints-file',
            endpointsFile,
          ],
          {
            cwd: REPO_ROOT,
          },
        );
      const { stdout } = await cli(['report', 'ragged']);
      assert.match(stdout, /^ragged@[0-9a-f]{16} {2}INVALID {2}14 rows, csv/);
      assert.match(stdout, /error {3}ragged-rows {10}2 row\(s\) have the wrong number of fields/);
      const json = JSON.parse((await cli(['report', 'ragged', '--json'])).stdout) as ValidationReport;
      assert.equal(json.valid, false);
      await assert.rejects(cli(['report', 'nothing-here']), (error: { stderr?: string; code?: number }) => {
        assert.equal(error.code, 3, 'not found');
        assert.match(error.stderr ?? '', /no dataset "nothing-here"/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trains despite warnings, and reports them: duplicates, a constant column, stray text in a numeric column', async () => {
    const { client } = local;
    const [header, ...data] = irisLines as [string, ...string[]];
    const messy = [
      `site,${header}`,
      ...data.map((line, i) => `lab-1,${i === 7 ? line.replace(/^[\d.]+/, 'n/a?') : line}`),
      `lab-1,${data[0]}`,
      `lab-1,${data[1]}`,
    ].join('\n');
    await client.upload('datasets/messy/messy.csv', messy);
    const [run] = await client.waitForRuns('messy');
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    const [version] = await client.datasetVersions('messy');
    const report = await client.datasetJson<ValidationReport>(version?.reportKey as string);
    assert.equal(report.valid, true);
    const warnings = report.findings.filter((f) => f.severity === 'warning');
    assert.deepEqual(warnings.map((w) => w.code).sort(), [
      'constant-column',
      'duplicate-rows',
      'non-numeric-values',
    ]);
    assert.deepEqual(warnings.find((w) => w.code === 'non-numeric-values')?.rows, [9]);
    assert.deepEqual(report.columns.find((c) => c.name === 'site')?.role, 'dropped');
    // iris itself repeats one row; the two appended copies are the others.
    assert.equal(report.duplicateRows, 3);
    const duplicates = warnings.find((w) => w.code === 'duplicate-rows')?.rows ?? [];
    assert.ok(
      duplicates.includes(152) && duplicates.includes(153),
      `duplicate rows ${duplicates.join(', ')}`,
    );
  });

  it('reads JSON Lines and semicolon CSV alike; honours ignore and types; links a new version to the previous one', async () => {
    const { client } = local;
    const [header, ...data] = irisLines as [string, ...string[]];
    const names = header.split(',');
    const jsonl = data
      .map((line) =>
        JSON.stringify(Object.fromEntries(line.split(',').map((v, i) => [names[i], i < 4 ? Number(v) : v]))),
      )
      .join('\n');
    await client.upload('datasets/lines/iris.jsonl', jsonl);
    const withId = [
      `id;${header.replaceAll(',', ';')}`,
      ...data.map((line, i) => `${1000 + i};${line.replaceAll(',', ';')}`),
    ];
    await client.upload(
      'datasets/semi/dataset.json',
      JSON.stringify({ ignore: ['id'], types: { sepal_width: 'categorical' } }),
    );
    await client.upload('datasets/semi/iris.csv', withId.join('\n'));
    const [lines] = await client.waitForRuns('lines');
    const [semi] = await client.waitForRuns('semi');
    assert.equal(lines?.status, 'SUCCEEDED', lines?.reason);
    assert.equal(semi?.status, 'SUCCEEDED', semi?.reason);
    const [version] = await client.datasetVersions('semi');
    const report = await client.datasetJson<ValidationReport>(version?.reportKey as string);
    assert.equal(report.delimiter, ';');
    assert.equal(report.columns.find((c) => c.name === 'id')?.role, 'ignored');
    assert.equal(report.columns.find((c) => c.name === 'sepal_width')?.type, 'categorical');

    // Baseline statistics: saved with the version (all rows), copied into the model's baseline.json.
    const baseline = await client.datasetJson<Baseline>(
      KEYS.datasetBaseline('semi', version?.version as string),
    );
    assert.equal(baseline.rowCount, 150);
    const petal = baseline.numeric.petal_length;
    assert.equal(
      petal?.histogram.counts.reduce((a, b) => a + b, 0),
      petal?.count,
    );
    assert.deepEqual(baseline.label, { setosa: 50, versicolor: 50, virginica: 50 });
    assert.ok(baseline.categorical.sepal_width, 'a categorical column has frequencies');
    const modelBaseline = await client.artifactJson<Baseline & { dataset: Baseline; datasetVersion: string }>(
      `${KEYS.modelPrefix('semi', semi.runId)}baseline.json`,
    );
    assert.deepEqual(modelBaseline.dataset, baseline);
    assert.equal(modelBaseline.datasetVersion, version?.version);
    assert.equal(modelBaseline.rowCount, 105, 'the training split (70%)');

    // New bytes: a new version that names the one before it.
    await client.upload(
      'datasets/semi/iris-more.csv',
      [...withId, withId[1]?.replace(/^1000/, '2000')].join('\n'),
    );
    await client.waitForRuns('semi', 2);
    const versions = await client.datasetVersions('semi');
    assert.equal(versions.length, 2);
    const newest = versions.find((v) => v.version !== version?.version);
    assert.equal(newest?.previousVersion, version?.version);
  });
});
