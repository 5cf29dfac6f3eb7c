/** `npm start -- --once`: the command a new user runs first. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../core/repo.ts';

describe('npm start -- --once', () => {
  it('runs the iris demo, prints the endpoints and a prediction, writes endpoints.json and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-start-'));
    try {
      const endpointsFile = join(dir, 'endpoints.json');
      const args = ['--import', 'tsx', 'cli/start.ts', '--once', '--data-dir', join(dir, 'data')];
      args.push(
        '--endpoints-file',
        endpointsFile,
        '--s3-port',
        '0',
        '--dynamodb-port',
        '0',
        '--api-port',
        '0',
        // Every port free, or another platform on this machine fails this one.
        '--step-functions-port',
        '0',
        '--api-gateway-port',
        '0',
        '--training-port',
        '0',
      );
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 0, output);
      assert.match(output, /export AWS_ENDPOINT_URL_S3=http:\/\/127\.0\.0\.1:\d+/);
      // awscli v1 and boto3 read AWS_DEFAULT_REGION, the JS SDK AWS_REGION: both are printed.
      assert.match(output, /export AWS_REGION=\S+\n.*export AWS_DEFAULT_REGION=\S+/);
      assert.match(output, /Dashboard\s+http:\/\/127\.0\.0\.1:\d+\/dashboard\/#key=\S+/);
      for (const step of [
        'RegisterDataset',
        'Preprocess',
        'TrainOnBatch',
        'Evaluate',
        'RegisterModel',
        'Deploy',
      ]) {
        assert.match(output, new RegExp(`${step}\\s+ok`));
      }
      assert.match(output, /epoch 120\/120/);
      assert.match(output, /curl -s -X POST 'http:\/\/127\.0\.0\.1:\d+\/v1\/models\/iris:predict'/);
      assert.match(output, /Prediction \(HTTP 200\):\n\s+\{"predictions":\[\{"label":"versicolor"/);
      const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Record<string, string>;
      for (const key of [
        's3',
        'dynamodb',
        'api',
        'region',
        'accessKeyId',
        'secretAccessKey',
        'apiKey',
        'datasetsBucket',
      ]) {
        assert.ok(endpoints[key], `endpoints.json has ${key}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says in one line which port is taken and which option changes it, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-start-'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const args = ['--import', 'tsx', 'cli/start.ts', '--once', '--data-dir', join(dir, 'data')];
      args.push('--s3-port', String(port), '--dynamodb-port', '0', '--api-port', '0');
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 1, stderr);
      const lines = stderr.split('\n').filter((line) => line.startsWith('nimbus:'));
      assert.deepEqual(lines, [
        `nimbus: port ${port} (S3) is already in use — is another \`npm start\` running? Stop it, or choose another port with --s3-port <port> (0: any free one).`,
      ]);
      assert.doesNotMatch(stderr, /\n\s+at |EADDRINUSE/);
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
