/** The training entrypoint's process contract, run as the container runs it: a child process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ENV } from '../../core/contract.ts';
import { REPO_ROOT } from '../../core/repo.ts';

const run = async (env: Record<string, string>) => {
  const { [ENV.trainingJob]: _job, [ENV.sageMakerRoot]: _root, ...inherited } = process.env;
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'containers/training/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...inherited, [ENV.sageMakerRoot]: join(tmpdir(), 'nimbus-no-such-dir'), ...env },
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
};

describe('the training entrypoint', () => {
  it('exits non-zero and names both contracts when it is given no job', async () => {
    const { code, stderr } = await run({});
    assert.equal(code, 1);
    assert.match(
      stderr,
      /no training job: set NIMBUS_TRAINING_JOB \(Batch\) or provide .*hyperparameters\.json \(SageMaker\)/,
    );
  });

  it('rejects a Batch job spec that is not JSON, with the reason as its last line', async () => {
    const { code, stderr } = await run({ [ENV.trainingJob]: '{oops' });
    assert.equal(code, 1);
    assert.match(
      stderr.trim().split('\n').pop() ?? '',
      /^ConfigurationError: NIMBUS_TRAINING_JOB is not valid JSON/,
    );
  });

  it('writes the reason to output/failure under the SageMaker contract, even for a bad spec', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nimbus-opt-ml-'));
    try {
      mkdirSync(join(root, 'input', 'config'), { recursive: true });
      writeFileSync(
        join(root, 'input', 'config', 'hyperparameters.json'),
        JSON.stringify({ nimbus_job: '{oops' }),
      );
      const { code } = await run({ [ENV.sageMakerRoot]: root });
      assert.equal(code, 1);
      assert.match(
        readFileSync(join(root, 'output', 'failure'), 'utf8'),
        /^ConfigurationError: nimbus_job is not valid JSON/,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
