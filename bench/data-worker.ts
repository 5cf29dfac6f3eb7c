/**
 * One measurement of bench/data.ts, in its own process so that peak RSS is its own:
 * - `register`: what RegisterDataset does — one streaming pass: hash, validation report, baseline;
 * - `preprocess`: what Preprocess does — read the table, type the rows, split, fit, transform;
 * - `parse-only`: the peer — the same file through csv-parse's streaming parser, nothing else.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { typedRow } from '../core/dataset.ts';
import { fitPreprocessor, stratifiedSplit, transformRow } from '../core/preprocess.ts';
import { readTable, validateStream } from '../core/validation.ts';

const [mode, file] = process.argv.slice(2) as ['register' | 'preprocess' | 'parse-only', string];
const started = performance.now();
let rows = 0;
if (mode === 'parse-only') {
  for await (const _record of createReadStream(file).pipe(parse({ from_line: 2 }))) rows++;
} else if (mode === 'register') {
  const { report, schema } = await validateStream(createReadStream(file), 'csv');
  if (!schema) throw new Error(`invalid: ${report.findings.map((f) => f.message).join('; ')}`);
  rows = report.rowCount;
} else {
  const { schema, report } = await validateStream(createReadStream(file), 'csv');
  if (!schema) throw new Error(`invalid: ${report.findings.map((f) => f.message).join('; ')}`);
  const checkpoint = performance.now();
  const table = await readTable(createReadStream(file));
  const typed = table.rows.map((row) => typedRow(schema, table.header, row));
  const split = stratifiedSplit(typed, (row) => String(row[schema.label]));
  const pre = fitPreprocessor(schema, split.train);
  const features = new Float32Array(split.train.length * pre.width);
  split.train.forEach((row, i) => {
    features.set(transformRow(pre, row), i * pre.width);
  });
  rows = table.rows.length;
  // Only the preprocessing itself is timed.
  const seconds = (performance.now() - checkpoint) / 1000;
  process.stdout.write(
    `${JSON.stringify({ rows, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
  process.exit(0);
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ rows, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
