/**
 * One measurement of bench/data.ts, in its own process so that peak RSS is its own:
 * - `register`: what RegisterDataset does — one streaming pass: hash, validation report, baseline;
 * - `preprocess`: what Preprocess does — three streaming passes: strata, split + fit, transform into shards;
 * - `parse-only`: the peer — the same file through csv-parse's streaming parser, nothing else.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { preprocessStream } from '../core/stream-preprocess.ts';
import { validateStream } from '../core/validation/validate.ts';

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
  // Preprocess as the handler runs it (three streaming passes), the dataset registered first (not timed).
  const { schema, report, baseline } = await validateStream(createReadStream(file), 'csv');
  if (!schema || !baseline) throw new Error(`invalid: ${report.findings.map((f) => f.message).join('; ')}`);
  const checkpoint = performance.now();
  let shardBytes = 0;
  const result = await preprocessStream({
    open: () => createReadStream(file),
    format: 'csv',
    schema,
    datasetBaseline: baseline,
    splitKeys: { train: 'train.json', validation: 'validation.json', test: 'test.json' },
    // The shards' bytes are counted, not stored: storage is S3's part, not this process's memory.
    put: async (_key, bytes) => {
      shardBytes += bytes.byteLength;
    },
  });
  rows = result.counts.train + result.counts.validation + result.counts.test;
  if (shardBytes === 0) throw new Error('no shards written');
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
