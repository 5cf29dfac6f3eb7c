/**
 * The data plane on large tables: a synthetic CSV (numeric and categorical features, a 3-class label) of
 * each size, registered (RegisterDataset's streaming pass: hash, validation report, baseline) and
 * preprocessed (Preprocess's work: read, split, fit, transform) by the platform's own core functions, each in
 * a fresh process. Prints rows/s and peak RSS for the
 * platform path, and for a peer in the same script: csv-parse alone, streaming the same file (the floor of
 * any parse). Target (issue 4): a 1 GB CSV preprocessed within 512 MB peak RSS.
 *
 *   npm run bench:data                 (100 MB and 1 GB)
 *   npm run bench:data -- 10 100       (sizes in MB)
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRandom } from '../core/random.ts';

const run = promisify(execFile);
const sizes = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['100', '1000']).map(Number);
const worker = fileURLToPath(new URL('data-worker.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nimbus-bench-data-'));

/** Writes rows until the file reaches `megabytes`; returns the row count. */
async function writeCsv(file: string, megabytes: number): Promise<number> {
  const out = createWriteStream(file);
  const random = createRandom(1);
  const colours = ['red', 'green', 'blue', 'amber', 'violet'];
  out.write('a,b,c,d,colour,size,label\n');
  let bytes = 0;
  let rows = 0;
  const target = megabytes * 1024 * 1024;
  while (bytes < target) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const a = random() * 10;
      const b = random() * 100 - 50;
      const label = a + b / 20 > 5 ? 'high' : a > 2 ? 'mid' : 'low';
      lines.push(
        `${a.toFixed(4)},${b.toFixed(3)},${(random() * 1000).toFixed(1)},${Math.floor(random() * 50)},${colours[Math.floor(random() * 5)]},${random() < 0.01 ? '' : (random() * 3).toFixed(2)},${label}`,
      );
    }
    const chunk = `${lines.join('\n')}\n`;
    bytes += Buffer.byteLength(chunk);
    rows += lines.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return rows;
}

interface Measure {
  readonly rows: number;
  readonly seconds: number;
  readonly peakRssMb: number;
}

async function measure(
  mode: 'register' | 'preprocess' | 'parse-only',
  file: string,
): Promise<Measure | string> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', worker, mode, file], {
      maxBuffer: 1024 * 1024,
      timeout: 1_800_000,
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=8192' },
    });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Measure;
  } catch (error) {
    const e = error as { signal?: string; stderr?: string };
    const lines = (e.stderr ?? '')
      .trim()
      .split('\n')
      .filter((l) => /Error|heap|memory/i.test(l));
    return `failed (${e.signal ?? lines[0]?.trim().slice(0, 60) ?? 'unknown'})`;
  }
}

try {
  console.log('Data plane on synthetic CSVs (7 columns, 3 classes); each measurement in a fresh process');
  console.log(
    `  ${'size'.padEnd(8)} ${'rows'.padStart(10)}  ${'path'.padEnd(34)} ${'rows/s'.padStart(10)} ${'peak RSS'.padStart(10)}`,
  );
  for (const mb of sizes) {
    const file = join(dir, `synthetic-${mb}mb.csv`);
    const rows = await writeCsv(file, mb);
    const size = `${(statSync(file).size / 1024 / 1024).toFixed(0)} MB`;
    for (const [mode, label] of [
      ['register', 'register: stream, hash, report, stats'],
      ['preprocess', 'preprocess: 3 passes, split, fit, shards'],
      ['parse-only', 'peer: csv-parse stream, no work'],
    ] as const) {
      const m = await measure(mode, file);
      const figures =
        typeof m === 'string'
          ? m
          : `${(m.rows / m.seconds).toFixed(0).padStart(10)} ${`${m.peakRssMb.toFixed(0)} MB`.padStart(10)}`;
      console.log(`  ${size.padEnd(8)} ${String(rows).padStart(10)}  ${label.padEnd(40)} ${figures}`);
    }
    rmSync(file, { force: true });
  }
  console.log('  target: 1 GB preprocessed within 512 MB peak RSS');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
