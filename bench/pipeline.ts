/**
 * Upload → served on the local platform: how long from `PutObject` of iris.csv until the first 200 from the
 * predict API, over several runs, against the floor of that time — the training step alone (a child process
 * that loads tfjs and trains). What is left is the platform's own overhead (events, Lambda steps, registry).
 *
 *   npm run bench:pipeline -- [runs]     (default 5)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API } from '../core/contract.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { PlatformClient } from '../test/helpers.ts';

const runs = Number(process.argv[2] ?? 5);
const iris = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'));
const instance = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };
const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-bench-'));
const platform = await startLocalPlatform({
  dataDir,
  ports: { s3: 0, dynamodb: 0, api: 0, stepFunctions: 0 },
});
const client = new PlatformClient(platform.endpoints);

const stepStart = new Map<string, number>();
const stepTotals = new Map<string, number[]>();
platform.pipeline.on('step', (step) => {
  const key = `${step.runId}/${step.state}`;
  if (step.type === 'entered') stepStart.set(key, performance.now());
  else if (step.type === 'succeeded') {
    const list = stepTotals.get(step.state) ?? [];
    list.push(performance.now() - (stepStart.get(key) ?? performance.now()));
    stepTotals.set(step.state, list);
  }
});

const totals: number[] = [];
try {
  for (let i = 1; i <= runs; i++) {
    const model = `iris-bench-${i}`;
    const started = performance.now();
    await client.upload(`datasets/${model}/iris.csv`, iris);
    for (;;) {
      const response = await fetch(`${platform.endpoints.api}${API.predictPath(model)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [API.apiKeyHeader]: platform.endpoints.apiKey },
        body: JSON.stringify({ instances: [instance] }),
      });
      await response.arrayBuffer();
      if (response.status === 200) break;
      if (performance.now() - started > 120_000) throw new Error(`${model} not served after 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    totals.push(performance.now() - started);
  }
} finally {
  client.destroy();
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const training = median(stepTotals.get('TrainOnBatch') ?? []);
const total = median(totals);
console.log(`upload → served, iris (150 rows, MLP 120 epochs, wasm), ${runs} runs on this machine`);
console.log(
  `  median upload → first 200 from predict   ${total.toFixed(0)} ms   (min ${Math.min(...totals).toFixed(0)}, max ${Math.max(...totals).toFixed(0)})`,
);
console.log(`  median training step (the floor)          ${training.toFixed(0)} ms`);
console.log(
  `  platform overhead (total - training)      ${(total - training).toFixed(0)} ms   ratio total/training ${(total / training).toFixed(2)}`,
);
console.log('  median per step:');
for (const [state, values] of stepTotals)
  console.log(`    ${state.padEnd(24)} ${median(values).toFixed(0).padStart(6)} ms`);
