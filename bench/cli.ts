/**
 * How long `nimbus --help` takes before it prints, as a user runs it (cli/bin.mjs): from the bundle that
 * `npm install` builds (scripts/build-cli.mjs), against the floor — Node starting and exiting (`node -e ''`)
 * — and against compiling the TypeScript on each run (tsx, what every command paid before the bundle).
 * The three alternate, `rounds` times (default 15); the medians and the ratios to the floor are printed.
 *
 *   npm run bench:cli -- [rounds]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../core/repo.ts';

const rounds = Number(process.argv[2] ?? 15);
execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-cli.mjs')], {
  cwd: REPO_ROOT,
  stdio: 'ignore',
});

const commands = {
  'node -e ""': [process.execPath, ['-e', '']],
  'nimbus --help (bundle)': [process.execPath, [join(REPO_ROOT, 'cli', 'bin.mjs'), '--help']],
  'nimbus --help (tsx)': [
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'cli', 'nimbus.ts'), '--help'],
  ],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

const times = new Map<string, number[]>(Object.keys(commands).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, [file, args]] of Object.entries(commands)) {
    const started = performance.now();
    const out = spawnSync(file, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - started;
    if (out.status !== 0) throw new Error(`${name} exited ${out.status}: ${out.stderr.toString()}`);
    times.get(name)?.push(ms);
  }
}
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const floor = median(times.get('node -e ""') ?? []);
console.log(
  `nimbus --help, ${rounds} alternating rounds on this machine (median, range, and × the Node floor):`,
);
for (const [name, values] of times) {
  const m = median(values);
  console.log(
    `  ${name.padEnd(24)} ${m.toFixed(0).padStart(6)} ms  (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})  ${(m / floor).toFixed(2)}×`,
  );
}
