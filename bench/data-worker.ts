/**
 * One measurement of bench/data.ts, in its own process so that peak RSS is its own: `platform` runs the
 * core functions RegisterDataset and Preprocess run on a file; `parse-only` streams it through csv-parse.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { parse } from 'csv-parse';
import { typedRow } from '../core/dataset.ts';
import { baselineStatistics, fitPreprocessor, stratifiedSplit, transformRow } from '../core/preprocess.ts';
import { validateDataset } from '../core/validation.ts';

const [mode, file] = process.argv.slice(2) as ['platform' | 'parse-only', string];
const started = performance.now();
let rows = 0;
if (mode === 'parse-only') {
  for await (const _record of createReadStream(file).pipe(parse({ from_line: 2 }))) rows++;
} else {
  const { report, schema, table } = validateDataset(readFileSync(file), 'csv');
  if (!schema || !table) throw new Error(`invalid: ${report.findings.map((f) => f.message).join('; ')}`);
  const typed = table.rows.map((row) => typedRow(schema, table.header, row));
  baselineStatistics(schema, typed);
  const split = stratifiedSplit(typed, (row) => String(row[schema.label]));
  const pre = fitPreprocessor(schema, split.train);
  const features = new Float32Array(split.train.length * pre.width);
  split.train.forEach((row, i) => {
    features.set(transformRow(pre, row), i * pre.width);
  });
  rows = table.rows.length;
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ rows, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
