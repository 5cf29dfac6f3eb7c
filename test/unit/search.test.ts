/** Hyperparameter search, ensembles, overrides and the training loop's rules: pure units of core/. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { combinePredictions } from '../../core/ensemble.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import { defaultHyperparameters, withOverrides } from '../../core/hyperparameters.ts';
import { folderHash, folderImageItems, imageDatasetSchema, zipImageItems } from '../../core/image-dataset.ts';
import { balancedClassWeights, learningRateAt, shouldStop } from '../../core/model-training.ts';
import type { EpochLog } from '../../core/pipeline.ts';
import { createRandom } from '../../core/random.ts';
import {
  crossover,
  type GeneticSettings,
  mutate,
  parents,
  tournamentSelect,
} from '../../core/search-genetic.ts';
import { gridPoints } from '../../core/search-sampling.ts';
import {
  type Parameters,
  parseSearchSpec,
  type SearchSpec,
  type TrialScore,
} from '../../core/search-spec.ts';
import { rankTrials, suggestTrials, trialHyperparameters } from '../../core/search-trials.ts';

const mlp = defaultHyperparameters('tabular');
const invalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof DatasetValidationError && pattern.test(error.message);

describe('search specs', () => {
  it('fills defaults: random, 8 trials, 2 at once, validation loss', () => {
    const spec = parseSearchSpec({ space: { learningRate: { logUniform: [1e-4, 0.1] } } }, mlp);
    assert.deepEqual(
      { strategy: spec.strategy, trials: spec.trials, parallel: spec.parallel, metric: spec.metric },
      { strategy: 'random', trials: 8, parallel: 2, metric: 'validationLoss' },
    );
  });

  it('names the field of a bad spec: unknown hyperparameter, bad bounds, bad kind, bad ensemble', () => {
    assert.throws(
      () => parseSearchSpec({ space: { filters: { int: [1, 2] } } }, mlp),
      invalid(/manifest search: space.filters is not a mlp hyperparameter/),
    );
    assert.throws(
      () => parseSearchSpec({ space: { learningRate: { logUniform: [0, 1] } } }, mlp),
      invalid(/space.learningRate.logUniform needs min > 0/),
    );
    assert.throws(
      () => parseSearchSpec({ space: { dropout: { normal: [0, 1] } } }, mlp),
      invalid(/space.dropout: unknown kind "normal"/),
    );
    assert.throws(
      () => parseSearchSpec({ space: { schedule: { choice: ['cosine', 'step'] } } }, mlp),
      invalid(/manifest search: space.schedule must be one of constant, cosine/),
    );
    assert.throws(
      () =>
        parseSearchSpec({ trials: 4, ensemble: { size: 5 }, space: { dropout: { uniform: [0, 0.5] } } }, mlp),
      invalid(/ensemble.size must be a whole number from 2 to the number of trials \(4\)/),
    );
    assert.throws(() => parseSearchSpec({ strategy: 'hyperband', space: {} }, mlp), invalid(/strategy/));
    const space = { dropout: { uniform: [0, 0.5] } };
    assert.throws(
      () => parseSearchSpec({ metric: 'validationAccuracy', space }, mlp, 'regression'),
      invalid(/validationAccuracy needs a classifier/),
    );
    assert.throws(
      () => parseSearchSpec({ ensemble: { size: 2, method: 'vote' }, space }, mlp, 'regression'),
      invalid(/vote needs a classifier/),
    );
  });
});

const space = {
  learningRate: { logUniform: [1e-4, 1] as const },
  hiddenUnits: { choice: [[8], [32, 16]] },
  epochs: { int: [10, 50] as const },
};

describe('search strategies', () => {
  it('grid: the cartesian product, continuous dimensions at 3 points, a fixed order; stops at its size', () => {
    const points = gridPoints(space);
    assert.equal(points.length, 3 * 2 * 3);
    assert.deepEqual(points[0], { epochs: 10, hiddenUnits: [8], learningRate: 1e-4 });
    assert.ok(Math.abs((points[1]?.learningRate as number) - 0.01) < 1e-12, 'log-spaced');
    const spec = parseSearchSpec({ strategy: 'grid', trials: 100, space }, mlp);
    assert.equal(suggestTrials(spec, []).length, 18);
  });

  it('random: every trial in one round, inside the space, the same for the same seed', () => {
    const spec = parseSearchSpec({ strategy: 'random', trials: 10, seed: 3, space }, mlp);
    const a = suggestTrials(spec, []);
    assert.equal(a.length, 10);
    assert.deepEqual(a, suggestTrials(spec, []));
    for (const p of a) {
      assert.ok((p.learningRate as number) >= 1e-4 && (p.learningRate as number) <= 1);
      assert.ok(Number.isInteger(p.epochs) && (p.epochs as number) >= 10 && (p.epochs as number) <= 50);
    }
    assert.notDeepEqual(a, suggestTrials({ ...spec, seed: 4 }, []));
  });

  /** Runs a search on a synthetic objective and returns the best score it found. */
  function search(spec: SearchSpec, objective: (p: Parameters) => number): number {
    const done: TrialScore[] = [];
    for (;;) {
      const next = suggestTrials(spec, done);
      if (next.length === 0) break;
      for (const parameters of next)
        done.push({ trial: done.length + 1, parameters, score: objective(parameters) });
    }
    assert.equal(done.length, spec.trials);
    return rankTrials(spec, done)[0]?.score as number;
  }

  it('bayesian (TPE): rounds of `parallel`; uses the scores, so it beats random search on the same budget', () => {
    const spec = parseSearchSpec({ strategy: 'bayesian', trials: 24, parallel: 2, space }, mlp);
    assert.equal(suggestTrials(spec, []).length, 2);
    // A loss with its minimum at learningRate 0.003, 30 epochs, the larger network.
    const objective = (p: Parameters) =>
      (Math.log10(p.learningRate as number) - Math.log10(0.003)) ** 2 +
      ((p.epochs as number) - 30) ** 2 / 400 +
      ((p.hiddenUnits as number[]).length === 2 ? 0 : 0.5);
    let tpe = 0;
    let random = 0;
    const seeds = 8;
    for (let seed = 0; seed < seeds; seed++) {
      tpe += search({ ...spec, seed }, objective);
      random += search({ ...spec, strategy: 'random', seed }, objective);
    }
    assert.ok(tpe < random, `mean best loss: TPE ${tpe / seeds} vs random ${random / seeds}`);
  });

  it('genetic: generations of `population`, the first at random, the next bred from the scores; seeded', () => {
    const spec = parseSearchSpec({ strategy: 'genetic', trials: 10, population: 4, seed: 2, space }, mlp);
    const objective = (p: Parameters) => Math.abs(Math.log10(p.learningRate as number) + 2.5);
    const rounds: number[] = [];
    const done: TrialScore[] = [];
    for (;;) {
      const next = suggestTrials(spec, done);
      if (next.length === 0) break;
      rounds.push(next.length);
      // The same scores plan the same generation.
      assert.deepEqual(next, suggestTrials(spec, done));
      for (const parameters of next) {
        assert.ok((parameters.learningRate as number) >= 1e-4 && (parameters.learningRate as number) <= 1);
        assert.ok(Number.isInteger(parameters.epochs) && (parameters.epochs as number) >= 10);
        assert.ok(
          space.hiddenUnits.choice.some((c) => JSON.stringify(c) === JSON.stringify(parameters.hiddenUnits)),
        );
        done.push({ trial: done.length + 1, parameters, score: objective(parameters) });
      }
    }
    assert.deepEqual(rounds, [4, 4, 2], 'generations of 4, the last what is left of 10');
    // The first generation is drawn at random; the second is bred, so other scores breed another one.
    const first = done.slice(0, 4);
    assert.notDeepEqual(
      suggestTrials(spec, first),
      suggestTrials(
        spec,
        first.map((t) => ({ ...t, score: -(t.score as number) })),
      ),
    );
    assert.notDeepEqual(suggestTrials({ ...spec, seed: 3 }, first), suggestTrials(spec, first));
  });

  it('genetic: beats random search on the same budget', () => {
    const spec = parseSearchSpec({ strategy: 'genetic', trials: 24, population: 6, space }, mlp);
    const objective = (p: Parameters) =>
      (Math.log10(p.learningRate as number) - Math.log10(0.003)) ** 2 +
      ((p.epochs as number) - 30) ** 2 / 400 +
      ((p.hiddenUnits as number[]).length === 2 ? 0 : 0.5);
    let genetic = 0;
    let random = 0;
    const seeds = 8;
    for (let seed = 0; seed < seeds; seed++) {
      genetic += search({ ...spec, seed }, objective);
      random += search({ ...spec, strategy: 'random', seed }, objective);
    }
    assert.ok(genetic < random, `mean best loss: genetic ${genetic / seeds} vs random ${random / seeds}`);
  });

  it('gives whole-number hyperparameters searched over a range whole values, which train', () => {
    const space = { batchSize: { logUniform: [16, 256] }, epochs: { uniform: [10, 25] } };
    for (const strategy of ['random', 'grid', 'bayesian', 'genetic'] as const) {
      const spec = parseSearchSpec({ strategy, trials: 6, parallel: 3, space }, mlp);
      const done: TrialScore[] = [];
      for (let round = 0; round < 4; round++) {
        const next = suggestTrials(spec, done);
        for (const [i, parameters] of next.entries()) {
          assert.ok(
            Number.isInteger(parameters.batchSize) && Number.isInteger(parameters.epochs),
            `${strategy}: ${JSON.stringify(parameters)}`,
          );
          assert.doesNotThrow(() => trialHyperparameters(mlp, parameters));
          done.push({ trial: done.length, parameters, score: i / 10 });
        }
      }
    }
    // The grid's 3 points of [10, 25], rounded and each once: 10, 18, 25.
    assert.deepEqual(
      gridPoints({ epochs: { uniform: [10, 25] } }).map((p) => p.epochs),
      [10, 18, 25],
    );
  });

  it('plans a grid of more points than could be listed, and refuses a space of too many model sizes', () => {
    const choices = { choice: Array.from({ length: 64 }, (_, i) => i + 1) };
    const wide = parseSearchSpec(
      {
        strategy: 'grid',
        trials: 5,
        space: { epochs: choices, batchSize: choices, patience: choices, seed: choices },
      },
      mlp,
    );
    assert.equal(suggestTrials(wide, []).length, 5);
    const cnn = defaultHyperparameters('image');
    const lists = { choice: Array.from({ length: 16 }, (_, i) => [i + 1]) };
    assert.throws(
      () =>
        parseSearchSpec(
          {
            space: {
              blockFilters: lists,
              denseUnits: lists,
              convsPerBlock: { int: [1, 4] },
              kernelSize: { choice: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
            },
          },
          cnn,
        ),
      invalid(/make 5632 model sizes; at most 4096/),
    );
  });

  it('ranks by the metric (lower loss, higher accuracy first); failed trials last', () => {
    const trials: TrialScore[] = [
      { trial: 1, parameters: {}, score: 0.5 },
      { trial: 2, parameters: {}, score: undefined },
      { trial: 3, parameters: {}, score: 0.2 },
    ];
    assert.deepEqual(
      rankTrials({ metric: 'validationLoss' }, trials).map((t) => t.trial),
      [3, 1, 2],
    );
    assert.deepEqual(
      rankTrials({ metric: 'validationAccuracy' }, trials).map((t) => t.trial),
      [1, 3, 2],
    );
  });
});

describe('genetic operators', () => {
  const geneticSpec = () => parseSearchSpec({ strategy: 'genetic', trials: 12, population: 4, space }, mlp);
  const a: Parameters = { epochs: 10, hiddenUnits: [8], learningRate: 0.001 };
  const b: Parameters = { epochs: 50, hiddenUnits: [32, 16], learningRate: 0.5 };
  const scored = [0.9, 0.1, 0.5, 0.3, 0.7].map((score, i) => ({ trial: i + 1, parameters: a, score }));

  it('crossover: each gene from one parent or the other, both parents contributing over many children', () => {
    const spec = geneticSpec();
    const random = createRandom(1);
    const from = { a: 0, b: 0 };
    for (let i = 0; i < 50; i++) {
      const child = crossover(spec.space, a, b, random);
      for (const name of Object.keys(space)) {
        const gene = JSON.stringify(child[name]);
        assert.ok(gene === JSON.stringify(a[name]) || gene === JSON.stringify(b[name]), `${name}: ${gene}`);
        from[gene === JSON.stringify(a[name]) ? 'a' : 'b']++;
      }
    }
    assert.ok(from.a > 40 && from.b > 40, JSON.stringify(from));
  });

  it('mutation: none at rate 0; at rate 1 every choice changes and every range gene stays in its range', () => {
    const spec = geneticSpec();
    const random = createRandom(2);
    assert.deepEqual(mutate(spec.space, a, 0, random), a);
    for (let i = 0; i < 20; i++) {
      const child = mutate(spec.space, b, 1, random);
      assert.deepEqual(child.hiddenUnits, [8]);
      const rate = child.learningRate as number;
      assert.ok(rate >= 1e-4 && rate <= 1, String(rate));
      assert.ok(
        Number.isInteger(child.epochs) && (child.epochs as number) >= 10 && (child.epochs as number) <= 50,
      );
    }
  });

  it('selection: parents are the best `population` so far; a tournament of the whole pool picks the best', () => {
    const spec = geneticSpec();
    const pool = parents(spec as SearchSpec & { genetic: GeneticSettings }, scored);
    assert.deepEqual(
      pool.map((t) => t.trial),
      [2, 4, 3, 5],
    );
    assert.equal(tournamentSelect(spec, pool, 4, createRandom(3)).trial, 2);
    // A tournament of 2 never picks the worst of the pool.
    const random = createRandom(4);
    const winners = new Set(Array.from({ length: 40 }, () => tournamentSelect(spec, pool, 2, random).trial));
    assert.ok(!winners.has(5) && winners.has(2) && winners.size >= 2, [...winners].join());
    const accuracy = { ...spec, metric: 'validationAccuracy' as const };
    assert.equal(tournamentSelect(accuracy, scored, 5, createRandom(5)).trial, 1);
  });

  it('parses population, mutationRate and tournament with defaults; names the field of a bad one', () => {
    assert.deepEqual(parseSearchSpec({ strategy: 'genetic', trials: 12, space }, mlp).genetic, {
      population: 4,
      mutationRate: 0.2,
      tournament: 2,
    });
    assert.equal(parseSearchSpec({ strategy: 'genetic', trials: 100, space }, mlp).genetic?.population, 8);
    assert.equal(parseSearchSpec({ strategy: 'bayesian', space }, mlp).genetic, undefined);
    const genetic = (fields: Record<string, unknown>) =>
      parseSearchSpec({ strategy: 'genetic', trials: 12, space, ...fields }, mlp);
    assert.throws(
      () => genetic({ population: 1 }),
      invalid(/^manifest search: population must be a whole number from 2 to 100 \(got 1\)$/),
    );
    assert.throws(
      () => genetic({ population: 13 }),
      invalid(/population must be at most the number of trials \(12\)/),
    );
    assert.throws(
      () => genetic({ mutationRate: 1.5 }),
      invalid(/mutationRate must be a number from 0 to 1 \(got 1.5\)/),
    );
    assert.throws(
      () => genetic({ population: 3, tournament: 4 }),
      invalid(/tournament must be at most the population \(3\) \(got 4\)/),
    );
    assert.throws(
      () => parseSearchSpec({ strategy: 'random', population: 4, space }, mlp),
      invalid(/population is the genetic strategy's: it needs strategy genetic/),
    );
  });
});

describe('ensembles', () => {
  const members = [
    [
      [0.6, 0.4],
      [0.2, 0.8],
    ],
    [
      [0.4, 0.6],
      [0.3, 0.7],
    ],
    [
      [0.9, 0.1],
      [0.45, 0.55],
    ],
  ];
  it('average: the mean probability per class', () => {
    const [first] = combinePredictions({ method: 'average' }, members);
    assert.ok(Math.abs((first?.[0] ?? 0) - 1.9 / 3) < 1e-12);
  });
  it('vote: the share of members whose top class it is', () => {
    assert.deepEqual(combinePredictions({ method: 'vote' }, members), [
      [2 / 3, 1 / 3],
      [0, 1],
    ]);
  });
});

describe('hyperparameter overrides and the training loop', () => {
  it('takes overrides of the architecture and rejects anything else, naming it', () => {
    assert.equal(withOverrides(mlp, { epochs: 5, hiddenUnits: [4] }).epochs, 5);
    assert.throws(
      () => withOverrides(mlp, { epochs: -1 }),
      invalid(/^manifest hyperparameters.epochs must be a whole number from 1 to 10000 \(got -1\)$/),
    );
    assert.throws(
      () => withOverrides(mlp, { hiddenUnits: [4.5] }),
      invalid(/hiddenUnits must be a list of 0 to 8 whole numbers, each from 1 to 4096 \(got \[4.5\]\)/),
    );
    assert.throws(() => withOverrides(mlp, { architecture: 'cnn' }), invalid(/does not fit this dataset/));
  });

  it('stops early when validation loss has not improved for `patience` epochs', () => {
    const logs = (losses: number[]): EpochLog[] =>
      losses.map((validationLoss, i) => ({ epoch: i + 1, loss: 1, accuracy: 0, validationLoss }));
    assert.equal(shouldStop(logs([1, 0.9, 0.95, 0.97]), 2), true);
    assert.equal(shouldStop(logs([1, 0.9, 0.95, 0.8]), 2), false);
    assert.equal(shouldStop(logs([1, 2, 3, 4, 5]), 0), false);
  });

  it('decays the learning rate on a cosine from its value at epoch 1 towards zero', () => {
    const hp = { ...mlp, learningRate: 0.1, epochs: 10, schedule: 'cosine' as const };
    assert.equal(learningRateAt(hp, 1), 0.1);
    assert.ok(Math.abs(learningRateAt(hp, 6) - 0.05) < 1e-12);
    assert.ok(learningRateAt(hp, 10) < 0.003);
    assert.equal(learningRateAt({ ...hp, schedule: 'constant' }, 10), 0.1);
  });

  it('weighs classes by inverse frequency when asked for balanced weights', () => {
    assert.deepEqual(balancedClassWeights([0, 0, 0, 1]), { 0: 4 / 6, 1: 2 });
  });
});

describe('image datasets', () => {
  const prefix = 'datasets/pets/';
  it('reads class folders; the marker and manifest are not images; other files are findings', () => {
    const { items, strays } = folderImageItems(prefix, [
      { key: `${prefix}_SUCCESS` },
      { key: `${prefix}dataset.json` },
      { key: `${prefix}cat/a.png`, etag: '"1"' },
      { key: `${prefix}dog/b.JPG`, etag: '"2"' },
      { key: `${prefix}dog/notes.txt` },
    ]);
    assert.deepEqual(
      items.map((i) => [i.label, i.source]),
      [
        ['cat', `${prefix}cat/a.png`],
        ['dog', `${prefix}dog/b.JPG`],
      ],
    );
    assert.deepEqual(strays, ['dog/notes.txt']);
    assert.throws(
      () => imageDatasetSchema('folder', items, strays),
      invalid(/not PNG or JPEG images: dog\/notes.txt/),
    );
  });

  it('takes a class folder named like an object property as a class like another', () => {
    const items = ['__proto__', 'constructor', 'cat'].flatMap((label) =>
      [1, 2, 3, 4].map((n) => ({ source: `datasets/x/${label}/${n}.png`, label })),
    );
    const schema = imageDatasetSchema('folder', items);
    assert.deepEqual(schema.classes, ['__proto__', 'cat', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(schema.counts, '__proto__')?.value, 4);
  });

  it('hashes a folder by its keys and ETags: the same upload is the same version', () => {
    const a = [{ source: 'x/1.png', label: 'x', etag: '"a"' }];
    assert.equal(folderHash(a), folderHash([...a]));
    assert.notEqual(folderHash(a), folderHash([{ ...a[0], etag: '"b"' } as (typeof a)[0]]));
  });

  it('reads a zip: class = parent folder, macOS metadata skipped, loose images a finding', async () => {
    const png = new Uint8Array([1]);
    const { items } = await zipImageItems(
      zipSync({ 'top/a/1.png': png, 'top/b/2.png': png, '__MACOSX/top/a/._1.png': png }),
    );
    assert.deepEqual(
      items.map((i) => i.label),
      ['a', 'b'],
    );
    await assert.rejects(
      zipImageItems(zipSync({ 'loose.png': png })),
      invalid(/not in a class folder: loose.png/),
    );
    await assert.rejects(zipImageItems(new Uint8Array([1, 2, 3])), invalid(/not a readable zip/));
  });

  it('needs two classes and three images of each', () => {
    const items = ['a', 'a', 'a', 'b', 'b'].map((label, i) => ({ source: `${label}/${i}.png`, label }));
    assert.throws(
      () => imageDatasetSchema('folder', items),
      invalid(/"b" \(2 images\) have fewer than 3 images/),
    );
  });
});
