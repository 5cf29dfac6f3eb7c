/**
 * The README's walk-through, as a new user follows it: the block after its `<!-- walkthrough -->` marker is
 * read from README.md and run as it is, by bash, against a fresh platform that `npm start -- --no-demo`
 * (cli/start.ts) serves — from a folder with the repository's `examples/` and the platform's
 * `.nimbus/endpoints.json`, with `nimbus` on the PATH as `npm link` puts it there. Every command must succeed,
 * and what the README says they print must be there. Nothing is added to the commands.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../../core/repo.ts';

const MARKER = '<!-- walkthrough';

/** The walk-through's commands: the sh block after the marker, continuation lines joined, comments kept. */
export function walkthroughBlock(readme: string): string {
  const at = readme.indexOf(MARKER);
  assert.ok(at >= 0, `README.md has no ${MARKER} marker`);
  const match = /```(?:sh|bash)\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(match?.[1], 'no ```sh block after the walk-through marker');
  return match[1];
}

/** Each command of a block (a line, with its `\` continuations), without comment-only lines. */
function commandsOf(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe("the README's walk-through", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-readme-'));
  let platform: ChildProcess | undefined;
  let platformOutput = '';

  before(async () => {
    // The repository's folder as the user has it: examples/, and the platform's .nimbus/endpoints.json.
    symlinkSync(join(REPO_ROOT, 'examples'), join(dir, 'examples'));
    mkdirSync(join(dir, 'bin'));
    // `npm link` puts cli/bin.mjs on the PATH as `nimbus`.
    const shim = join(dir, 'bin', 'nimbus');
    writeFileSync(
      shim,
      `#!/bin/sh\nexec "${process.execPath}" "${join(REPO_ROOT, 'cli', 'bin.mjs')}" "$@"\n`,
    );
    chmodSync(shim, 0o755);
    const endpointsFile = join(dir, '.nimbus', 'endpoints.json');
    const ports = ['s3', 'dynamodb', 'api', 'step-functions', 'api-gateway', 'training'].flatMap((name) => [
      `--${name}-port`,
      '0',
    ]);
    platform = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/start.ts',
        '--no-demo',
        '--data-dir',
        join(dir, 'data'),
        '--endpoints-file',
        endpointsFile,
        ...ports,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<never>((_, reject) =>
      platform?.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${platformOutput}`))),
    );
    const ready = new Promise<void>((resolve) => {
      const listen = (chunk: Buffer) => {
        platformOutput += chunk.toString();
        // The endpoints file is written once every endpoint listens.
        if (existsSync(endpointsFile)) resolve();
      };
      platform?.stdout?.on('data', listen);
      platform?.stderr?.on('data', listen);
    });
    await Promise.race([ready, exited]);
  });

  after(async () => {
    if (platform && platform.exitCode === null) {
      const closed = new Promise((resolve) => platform?.once('close', resolve));
      platform.kill('SIGTERM');
      await closed;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every command of the walk-through as written, and each prints what the README says', async () => {
    for (const tool of ['bash', 'curl', 'jq']) assert.ok(onPath(tool), `the walk-through needs ${tool}`);
    const commands = commandsOf(walkthroughBlock(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')));
    assert.ok(commands.length >= 5, `the walk-through has ${commands.length} commands`);
    // One shell for the whole block (the first command's exports hold for the rest); a line between commands
    // says which one printed what follows.
    const script = [
      'set -eo pipefail',
      ...commands.flatMap((command, i) => [`printf '\\n@@ %d\\n' ${i}`, command]),
      "printf '\\n@@ end\\n'",
    ].join('\n');
    const child = spawn('bash', ['-c', script], {
      cwd: dir,
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const outputs = new Map<string, string>();
    for (const part of stdout.split(/\n@@ /).slice(1)) {
      const [index = '', ...rest] = part.split('\n');
      outputs.set(index === 'end' ? 'end' : (commands[Number(index)] ?? index), rest.join('\n'));
    }
    const failed = commands.find((command) => !outputs.has(command)) ?? 'none';
    assert.equal(code, 0, `a command failed (the first not started: ${failed}):\n${stdout}\n${stderr}`);
    assert.ok(outputs.has('end'));

    const output = (prefix: string) => {
      const found = [...outputs].find(([command]) => command.startsWith(prefix));
      assert.ok(found, `the walk-through has no command ${prefix}`);
      return found[1];
    };
    assert.match(
      output('nimbus datasets upload examples/wine.csv'),
      /run \S+ SUCCEEDED in .+: wine v1, serving as production/,
    );
    const shown = output('nimbus runs show');
    assert.match(shown, /\n {4}Preprocess /);
    assert.match(shown, /\n {2}test accuracy /);
    assert.match(shown, /\n {2}cost \$\d+\.\d{4} estimated: 1 job, \d+ s billed on g4dn\.xlarge/);
    assert.match(output('nimbus models show wine'), /production/);
    assert.match(output('nimbus predict wine'), /class_\d/);
    const answer = JSON.parse(output('curl -s -X POST').trim()) as {
      predictions: { label: string; probabilities: Record<string, number> }[];
      model_version: number;
    };
    assert.match(answer.predictions[0]?.label ?? '', /^class_[012]$/);
    assert.equal(answer.model_version, 1);
  });
});
