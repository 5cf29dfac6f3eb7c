/** `nimbus local up`: the local platform started in the foreground by the CLI (a child process), stopped by Ctrl+C. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/output.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { collect, expectError, expectExit, nimbus } from '../nimbus-cli.ts';

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
