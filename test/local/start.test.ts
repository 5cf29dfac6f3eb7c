/** `npm start -- --once`: the command a new user runs first. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
});
