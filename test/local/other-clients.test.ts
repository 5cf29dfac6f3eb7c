/**
 * The environment `npm start` and `nimbus local env` print, as other AWS clients read it: awscli v1 and v2 and
 * boto3 (each where this machine has it: `apt-get install awscli python3-boto3`; awscli v1 from pip), run with
 * nothing but the printed lines — no AWS profile, no region of their own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { shellExports } from '../../local/endpoints.ts';
import { localPlatformFixture } from '../helpers.ts';

const run = promisify(execFile);

/** The printed `export NAME=value` lines as an environment, and a HOME with no AWS config in it. */
function printedEnvironment(lines: readonly string[], home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    assert.ok(match, `an export line: ${line}`);
    env[match[1] as string] = match[2];
  }
  return env;
}

/** A dotted version as numbers, for comparing. */
const numbers = (version: string) => version.split('.').map(Number);
const atLeast = (version: string, least: string) => {
  const [a, b] = [numbers(version), numbers(least)];
  const i = b.findIndex((n, k) => (a[k] ?? 0) !== n);
  return i === -1 || (a[i] ?? 0) > (b[i] as number);
};

/**
 * Every `aws` on PATH, one of each major version (awscli v1 from pip and v2 from Debian may both be there),
 * and whether it reads service endpoints from the environment (v2 from 2.13, v1 with botocore from 1.31).
 */
async function awsClis(): Promise<{ path: string; version: string; endpointsFromEnv: boolean }[]> {
  const found: { path: string; version: string; endpointsFromEnv: boolean }[] = [];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, 'aws');
    if (!existsSync(path)) continue;
    const out = await run(path, ['--version']).catch(() => undefined);
    const text = `${out?.stdout ?? ''}${out?.stderr ?? ''}`;
    const version = /aws-cli\/([\d.]+)/.exec(text)?.[1];
    if (!version || found.some((f) => f.version.split('.')[0] === version.split('.')[0])) continue;
    const botocore = /botocore\/([\d.]+)/.exec(text)?.[1];
    const endpointsFromEnv = botocore ? atLeast(botocore, '1.31') : atLeast(version, '2.13');
    found.push({ path, version, endpointsFromEnv });
  }
  return found;
}

describe('the printed environment, read by other AWS clients', () => {
  const local = localPlatformFixture();

  it('lets awscli (v1 and v2) list the tables and the datasets bucket, and boto3 the tables', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'nimbus-home-'));
    try {
      const { endpoints } = local.platform;
      const env = printedEnvironment(shellExports(endpoints), home);
      await local.client.upload('datasets/iris/dataset.json', '{}');
      const clis = await awsClis();
      if (clis.length === 0) t.skip('no awscli here');
      for (const cli of clis) {
        // An older client takes the endpoint as the printed comment says; region and keys from the env still.
        const endpoint = (variable: string) =>
          cli.endpointsFromEnv ? [] : ['--endpoint-url', env[variable] as string];
        const tables = await run(
          cli.path,
          ['dynamodb', 'list-tables', '--output', 'json', ...endpoint('AWS_ENDPOINT_URL_DYNAMODB')],
          { env },
        );
        const names = (JSON.parse(tables.stdout) as { TableNames: string[] }).TableNames;
        assert.ok(names.includes(endpoints.tables.models), `awscli v${cli.version}: ${tables.stdout}`);
        // Not recursive: the bucket's top-level "folder", as S3 lists it.
        const listing = await run(
          cli.path,
          ['s3', 'ls', `s3://${endpoints.datasetsBucket}/`, ...endpoint('AWS_ENDPOINT_URL_S3')],
          { env },
        );
        assert.match(listing.stdout, /PRE datasets\//, `awscli v${cli.version} s3 ls: ${listing.stdout}`);
        const how = cli.endpointsFromEnv ? 'the environment alone' : 'the environment and --endpoint-url';
        t.diagnostic(`awscli ${cli.version} (${cli.path}), with ${how}: tables and bucket listed`);
      }
      const python = '/usr/bin/python3';
      const boto3 = existsSync(python)
        ? await run(python, ['-c', 'import boto3']).then(
            () => true,
            () => false,
          )
        : false;
      if (!boto3) {
        t.diagnostic('no boto3 here (apt-get install python3-boto3)');
        return;
      }
      // Before 1.28 boto3 takes the endpoint as an argument; from 1.28 it reads the environment's.
      const script = [
        'import boto3, json, os',
        "old = tuple(int(n) for n in boto3.__version__.split('.')[:2]) < (1, 28)",
        "kw = {'endpoint_url': os.environ['AWS_ENDPOINT_URL_DYNAMODB']} if old else {}",
        "print(json.dumps(boto3.client('dynamodb', **kw).list_tables()['TableNames']))",
      ].join('\n');
      const listed = await run(python, ['-c', script], { env });
      assert.ok((JSON.parse(listed.stdout) as string[]).includes(endpoints.tables.models), listed.stdout);
      t.diagnostic('boto3: tables listed');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
