/** The `nimbus` CLI as a person or a script runs it: a child process per command, its exit code and output. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../core/repo.ts';

export interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `nimbus <args>` to its end (bounded, generously: a watched run trains on a machine that may be busy). */
export function nimbus(args: readonly string[], timeoutMs = 600_000): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/nimbus.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, timeoutMs);
}

export function collect(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<Result> {
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
export function expectExit(result: Result, code: number): Result {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  return result;
}

/** An error is one `error:` line and a `hint:` line. */
export function expectError(result: Result, code: number, message: RegExp, hint?: RegExp): void {
  expectExit(result, code);
  assert.match(result.stderr, /^error: .+$/m);
  assert.match(result.stderr, message);
  if (hint) assert.match(result.stderr, new RegExp(`^hint: .*${hint.source}`, 'm'));
  assert.equal(result.stdout, '', 'nothing on stdout');
}
