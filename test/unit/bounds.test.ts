/**
 * Bounded training cost, in core/: the bounds of every manifest field that drives time or memory, and the
 * table of them in docs/limits.md. The training budget and the training loop's deadline: budget.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type Bound,
  describeBound,
  HYPERPARAMETER_BOUNDS,
  MANIFEST_BOUNDS,
  type NumberBound,
} from '../../core/bounds.ts';
import { DEFAULT_TRAINING_BUDGET, jobBudget } from '../../core/budget.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import {
  CHOICES,
  DEFAULT_CNN,
  DEFAULT_MLP,
  defaultHyperparameters,
  withOverrides,
} from '../../core/hyperparameters.ts';
import { parseManifest } from '../../core/manifest.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { parseSearchSpec } from '../../core/search-spec.ts';

const mlp = { architecture: 'mlp' as const, ...DEFAULT_MLP };
const cnn = { architecture: 'cnn' as const, ...DEFAULT_CNN };
const invalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof DatasetValidationError && pattern.test(error.message);
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Values just inside and just outside a number bound, and a fraction where whole numbers are asked for. */
function probes(bound: NumberBound): { inside: number[]; outside: unknown[] } {
  const step = bound.integer ? 1 : Math.max(bound.min, 1e-3) * 0.5;
  return {
    inside: [bound.min, bound.max],
    outside: [
      bound.min - step,
      bound.max + (bound.integer ? 1 : bound.max * 0.01 + 1e-3),
      ...(bound.integer ? [bound.min + 0.5] : []),
      Number.NaN,
      '1',
    ],
  };
}

describe('the bounds of the manifest', () => {
  it('bounds every hyperparameter of the MLP and the CNN that is not a choice, and the defaults are inside', () => {
    for (const defaults of [DEFAULT_MLP, DEFAULT_CNN]) {
      for (const [name, value] of Object.entries(defaults)) {
        if (CHOICES[name]) continue;
        const bound = (HYPERPARAMETER_BOUNDS as Record<string, Bound>)[name];
        assert.ok(bound, `${name} has a bound`);
        assert.doesNotThrow(() =>
          withOverrides(defaultHyperparameters(defaults === DEFAULT_CNN ? 'image' : 'tabular'), {
            [name]: value,
          }),
        );
      }
    }
  });

  it('refuses each hyperparameter outside its bound, naming the field, the bound and the value', () => {
    for (const [name, bound] of Object.entries(HYPERPARAMETER_BOUNDS) as [string, Bound][]) {
      const field = `manifest hyperparameters.${name}`;
      const numbers = 'items' in bound ? bound.items : bound;
      const { inside, outside } = probes(numbers);
      const wrap = (v: unknown) =>
        'items' in bound ? Array.from({ length: Math.max(1, bound.minLength) }, () => v) : v;
      for (const v of inside) {
        assert.doesNotThrow(() => parseManifest({ hyperparameters: { [name]: wrap(v) } }), `${name} ${v}`);
      }
      for (const v of outside) {
        assert.throws(
          () => parseManifest({ hyperparameters: { [name]: wrap(v) } }),
          invalid(new RegExp(`^${literal(field)} must be ${literal(describeBound(bound))} \\(got .+\\)$`)),
          `${name} ${String(v)}`,
        );
      }
      if ('items' in bound) {
        const tooLong = Array.from({ length: bound.maxLength + 1 }, () => bound.items.min);
        assert.throws(() => parseManifest({ hyperparameters: { [name]: tooLong } }), invalid(/list of/));
        assert.throws(
          () => parseManifest({ hyperparameters: { [name]: bound.items.min } }),
          invalid(/list of/),
        );
      }
    }
  });

  it('says exactly what is wrong with a batch of 0, 10⁹ epochs and a layer of 10⁹ units', () => {
    assert.throws(
      () => parseManifest({ hyperparameters: { batchSize: 0 } }),
      invalid(/^manifest hyperparameters\.batchSize must be a whole number from 1 to 4096 \(got 0\)$/),
    );
    assert.throws(
      () => parseManifest({ hyperparameters: { epochs: 1e9 } }),
      invalid(/^manifest hyperparameters\.epochs must be a whole number from 1 to 10000 \(got 1000000000\)$/),
    );
    assert.throws(
      () => parseManifest({ hyperparameters: { hiddenUnits: [1e9] } }),
      invalid(
        /hiddenUnits must be a list of 0 to 8 whole numbers, each from 1 to 4096 \(got \[1000000000\]\)/,
      ),
    );
    assert.throws(() => parseManifest({ hyperparameters: { epochs: 12.5 } }), invalid(/whole number/));
    // The same bounds where hyperparameters are merged (Preprocess, every trial of a search).
    assert.throws(() => withOverrides(mlp, { batchSize: 0 }), invalid(/batchSize must be a whole number/));
    assert.throws(
      () => withOverrides(cnn, { kernelSize: 12 }),
      invalid(/kernelSize must be a whole number from 1 to 11/),
    );
  });

  it('bounds the seed, the split ratios, the search and the budget', () => {
    for (const [path, bound] of Object.entries(MANIFEST_BOUNDS)) {
      if (path === 'search.space.choice') continue;
      const { inside, outside } = probes(bound);
      const manifest = (v: unknown): unknown => {
        const [top, field] = path.split('.') as [string, string | undefined];
        // The other ratios valid: each ratio's bound is checked before their sum.
        if (top === 'split')
          return { split: { train: 0.5, validation: 0.25, test: 0.25, [field as string]: v } };
        const search = { space: { dropout: { uniform: [0, 0.5] } } };
        if (path === 'search.ensemble.regularization')
          return { search: { ...search, ensemble: { size: 2, method: 'stack', regularization: v } } };
        // The genetic strategy's: as many trials and as large a population as the others' bounds allow.
        if (top === 'search' && ['population', 'mutationRate', 'tournament'].includes(field as string))
          return {
            search: { ...search, strategy: 'genetic', trials: 100, population: 100, [field as string]: v },
          };
        if (top === 'search') return { search: { ...search, [field as string]: v } };
        return field ? { [top]: { [field]: v } } : { [top]: v };
      };
      for (const v of inside) {
        if (path.startsWith('split.')) continue; // the sum is then not 1: see below
        assert.doesNotThrow(() => parseManifest(manifest(v)), `${path} ${v}`);
      }
      for (const v of outside) {
        assert.throws(
          () => parseManifest(manifest(v)),
          (error: unknown) => {
            const message = (error as Error).message;
            return message.includes(path.replace(/^search\./, '')) && message.includes(describeBound(bound));
          },
          `${path} ${String(v)}`,
        );
      }
    }
    assert.throws(
      () => parseManifest({ split: { train: 0.7, validation: 0.2, test: 0.2 } }),
      /"split" ratios must sum to 1 \(got 1\.1/,
    );
    assert.doesNotThrow(() => parseManifest({ split: { train: 0.8, validation: 0.1, test: 0.1 } }));
    assert.throws(
      () => parseManifest({ budget: { hours: 1 } }),
      invalid(/budget.hours is not a budget field/),
    );
    assert.throws(
      () => parseManifest({ search: { trials: 500, space: { dropout: { uniform: [0, 0.5] } } } }),
      invalid(/^manifest search: trials must be a whole number from 1 to 100 \(got 500\)$/),
    );
  });

  it("refuses a search whose space has a corner outside a hyperparameter's bound, where the manifest is read", () => {
    assert.throws(
      () => parseManifest({ search: { space: { epochs: { int: [10, 1_000_000] } } } }),
      invalid(/^manifest search: space\.epochs must be a whole number from 1 to 10000 \(got 1000000\)$/),
    );
    assert.throws(
      () => parseManifest({ search: { space: { hiddenUnits: { choice: [[8], [1e9]] } } } }),
      invalid(/manifest search: space\.hiddenUnits must be a list of 0 to 8 whole numbers/),
    );
    assert.throws(
      () => parseManifest({ search: { space: { batchSize: { int: [0, 64] } } } }),
      invalid(/space\.batchSize must be a whole number from 1 to 4096 \(got 0\)/),
    );
    assert.throws(
      () => parseManifest({ search: { space: { learningRate: { logUniform: [0.001, 5] } } } }),
      invalid(/space\.learningRate must be a number from 0\.000001 to 1 \(got 5\)/),
    );
    const many = Array.from({ length: 65 }, (_, i) => [i + 1]);
    assert.throws(
      () => parseManifest({ search: { space: { hiddenUnits: { choice: many } } } }),
      invalid(/space\.hiddenUnits\.choice must be a list of 1 to 64 values \(got 65\)/),
    );
    // … and when the search is planned against the architecture.
    assert.throws(
      () => parseSearchSpec({ space: { dropout: { uniform: [0, 0.95] } } }, mlp),
      invalid(/space\.dropout must be a number from 0 to 0\.9 \(got 0\.95\)/),
    );
  });
});

describe('docs/limits.md', () => {
  it('lists every bound of the table as it is checked, and the default budget', () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'limits.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Training cost'));
    const rows = [
      ...Object.entries(HYPERPARAMETER_BOUNDS).map(([name, b]) => [
        `hyperparameters.${name}`,
        describeBound(b),
      ]),
      ...Object.entries(MANIFEST_BOUNDS)
        .filter(([path]) => path !== 'search.space.choice')
        .map(([path, b]) => [path, describeBound(b)]),
      ['search.space.<name>.choice', `a list of 1 to ${MANIFEST_BOUNDS['search.space.choice'].max} values`],
    ];
    for (const [field, bound] of rows) {
      assert.match(
        section,
        new RegExp(`\\| \`${literal(field as string)}\` +\\| ${literal(bound as string)} +\\|`),
        field,
      );
    }
    const hour = jobBudget(DEFAULT_TRAINING_BUDGET);
    assert.match(section, new RegExp(`\\| \`minutes\` +\\| ${DEFAULT_TRAINING_BUDGET.minutes} +\\|`));
    assert.match(
      section,
      new RegExp(
        `\\| \`parameters\` +\\| ${DEFAULT_TRAINING_BUDGET.parameters.toLocaleString('en-US')} +\\|`,
      ),
    );
    assert.ok(
      section.includes(`${hour.attemptSeconds.toLocaleString('en-US')} s`),
      'the default attempt limit',
    );
  });
});
