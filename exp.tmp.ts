import { createRequire } from 'node:module';
import { DEFAULT_CNN } from './core/hyperparameters.ts';
import { argmax } from './core/metrics.ts';
import { buildCnn } from './core/model-builders.ts';
import { flatten } from './core/model-data.ts';
import { predictProbabilities } from './core/model-inference.ts';
import { trainModel } from './core/model-training.ts';
import { createRandom, shuffled } from './core/random.ts';
import { selectBackend } from './core/tfjs.ts';

const mnist = createRequire(import.meta.url)('mnist') as Record<
  number,
  { range(a: number, b: number): number[][] }
>;
function digits(start: number, end: number, seed: number) {
  const rows = Array.from(
    { length: 10 },
    (_, d) => mnist[d]?.range(start, end).map((pixels) => ({ pixels, d })) ?? [],
  ).flat();
  const order = shuffled(rows, createRandom(seed));
  return { x: flatten(order.map((r) => r.pixels)), labels: order.map((r) => r.d) };
}
await selectBackend('wasm');
const train = digits(0, 300, 1),
  val = digits(300, 343, 2),
  test = digits(343, 443, 3);
const variant = JSON.parse(process.argv[2] ?? '{}');
const hp = { ...DEFAULT_CNN, ...variant };
const model = buildCnn([28, 28, 1], 10, hp);
const t = performance.now();
const r = await trainModel(model, train, val, hp, { onEpoch: (l) => console.error(JSON.stringify(l)) });
const acc =
  predictProbabilities(model, test.x)
    .map(argmax)
    .filter((p, i) => p === test.labels[i]).length / test.labels.length;
console.log(
  JSON.stringify({
    variant,
    acc,
    epochs: r.history.length,
    best: r.bestEpoch,
    s: (performance.now() - t) / 1000,
    params: model.countParams(),
  }),
);
