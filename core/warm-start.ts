/**
 * Warm start: a training job that begins from the weights of the version holding `production` rather than
 * from its seeded initializers. Asked for by `hyperparameters.warmStart: true`, and the default of a
 * retraining run (an alarm action on drift) unless the manifest says `warmStart: false`.
 *
 * It applies only where the parent's weights mean the same thing to the new model: the same kind of input,
 * the same label and classes in the same order, the same encoded features (names, types, one-hot categories,
 * in order) or the same image size and colour, the same preprocessing settings, and the same architecture and
 * size. Preprocess decides (`warmStartPlan`), naming what differs when it cannot; the trainer checks the
 * weights' shapes once more (a search trial of another size trains from its initializers) and records the
 * parent in the card and the version's lineage.
 */
import { SIZE_HYPERPARAMETERS } from './budget.ts';
import type { ModelHyperparameters } from './hyperparameters.ts';
import type { AnyPreprocessor, PreprocessingOptions } from './preprocessor.ts';

/** Where a job's warm start comes from (in the training job spec), or why it has none. */
export interface WarmStart {
  /** Who asked: the manifest's `hyperparameters.warmStart`, or a retraining run's default. */
  readonly requested: 'manifest' | 'retrain';
  /** The parent: the production version, its run and its model folder. */
  readonly from?: { readonly version: number; readonly runId: string; readonly folder: string };
  /** Why it trains from its initializers instead. */
  readonly skipped?: string;
}

/** What a model version is trained on and as, for the comparison. */
export interface WarmStartSide {
  readonly preprocessor: AnyPreprocessor;
  /** The manifest's `preprocessing` settings (absent: the defaults). */
  readonly preprocessing?: PreprocessingOptions;
  readonly hyperparameters: Readonly<Record<string, unknown>>;
}

/** Whether a warm start is asked for: the manifest's word, else yes for a retraining run. */
export function warmStartRequested(
  hyperparameters: Readonly<Record<string, unknown>> | undefined,
  retraining: boolean,
): WarmStart['requested'] | undefined {
  const said = hyperparameters?.warmStart;
  if (said === true) return 'manifest';
  if (said === false) return undefined;
  return retraining ? 'retrain' : undefined;
}

const PREPROCESSING_DEFAULTS: Required<PreprocessingOptions> = {
  impute: 'mean',
  scale: 'zscore',
  clip: 'none',
  unknown: 'error',
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Why the parent's weights cannot start the child's training — the first thing that differs, in words — or
 * undefined when they can.
 */
export function warmStartMismatch(parent: WarmStartSide, child: WarmStartSide): string | undefined {
  const p = parent.preprocessor;
  const c = child.preprocessor;
  if (p.kind !== c.kind) return `it was trained on ${p.kind} data, this run on ${c.kind}`;
  if (p.label !== c.label) return `its label is ${p.label}, this run's ${c.label}`;
  if (!same(p.classes, c.classes)) {
    return `its classes are ${JSON.stringify(p.classes)}, this run's ${JSON.stringify(c.classes)}`;
  }
  if (p.kind === 'image' && c.kind === 'image') {
    const size = (s: typeof p.image) => `${s.width}×${s.height}×${s.channels}`;
    if (!same(size(p.image), size(c.image)))
      return `its images are ${size(p.image)}, this run's ${size(c.image)}`;
  }
  if (p.kind === 'tabular' && c.kind === 'tabular') {
    if ((p.task ?? 'classification') !== (c.task ?? 'classification')) return 'its task differs';
    const layout = (pre: typeof p) =>
      pre.features.map((f) =>
        f.type === 'numeric' ? `${f.name}:numeric` : `${f.name}:${f.categories.join('|')}`,
      );
    const [before, after] = [layout(p), layout(c)];
    if (!same(before, after)) {
      const i = before.findIndex((f, k) => f !== after[k]);
      const differs = i === -1 ? after[before.length] : (after[i] ?? before[i]);
      return `its features differ from this run's (at ${String(differs).split(':')[0]}: names, types or categories)`;
    }
    const settings = (side: WarmStartSide) => ({ ...PREPROCESSING_DEFAULTS, ...side.preprocessing });
    if (!same(settings(parent), settings(child))) {
      return `its preprocessing ${JSON.stringify(settings(parent))} differs from this run's ${JSON.stringify(settings(child))}`;
    }
  }
  const ph = parent.hyperparameters;
  const ch = child.hyperparameters;
  if (ph.architecture !== ch.architecture)
    return `it is a ${String(ph.architecture)}, this run trains a ${String(ch.architecture)}`;
  const sizes = SIZE_HYPERPARAMETERS[ch.architecture as ModelHyperparameters['architecture']] ?? [];
  for (const name of sizes) {
    if (!same(ph[name], ch[name])) {
      return `its ${name} is ${JSON.stringify(ph[name])}, this run's ${JSON.stringify(ch[name])}`;
    }
  }
  return undefined;
}

/**
 * Why weights of these shapes cannot be loaded into a model of those shapes (the first layer that differs),
 * or undefined when they fit.
 */
export function weightShapeMismatch(
  parent: readonly (readonly number[])[],
  child: readonly (readonly number[])[],
): string | undefined {
  if (parent.length !== child.length)
    return `it has ${parent.length} weight tensors, this model ${child.length}`;
  const i = parent.findIndex((shape, k) => !same(shape, child[k]));
  return i === -1
    ? undefined
    : `its weight ${i} is [${parent[i]?.join(', ')}], this model's [${child[i]?.join(', ')}]`;
}
