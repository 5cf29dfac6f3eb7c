/**
 * Ensembles: several trained models served as one, their outputs combined — averaged, voted, or stacked (a
 * meta-model fitted on the members' validation predictions: core/stacking.ts).
 */
import { argmax } from './metrics.ts';
import { StackingError, type StackModel, stackPredict } from './stacking.ts';

export type EnsembleMethod = 'average' | 'vote' | 'stack';

/** `ensemble.json` in a model folder: the members' model files are in subfolders of it. */
export interface EnsembleManifest {
  readonly method: EnsembleMethod;
  readonly members: readonly { readonly trial: number; readonly folder: string }[];
  /** `stack`: the meta-model over the members' outputs, in the members' order. */
  readonly stack?: StackModel;
}

/** What combining needs of an ensemble: its method, and the meta-model of a stack. */
export type Combiner = Pick<EnsembleManifest, 'method' | 'stack'>;

/**
 * Combines the members' outputs (member × sample × output): `average` is the mean (of probabilities, or of a
 * regressor's values); `vote` gives each class the share of members whose top class it is (ties go to the
 * lower class index, as argmax does); `stack` feeds every member's outputs to the meta-model.
 */
export function combinePredictions(
  ensemble: Combiner,
  members: readonly (readonly (readonly number[])[])[],
): number[][] {
  if (ensemble.method === 'stack') {
    if (!ensemble.stack)
      throw new StackingError('a stack ensemble needs its meta-model (ensemble.json stack)');
    return stackPredict(ensemble.stack, members);
  }
  const [first] = members;
  if (!first) return [];
  return first.map((row, sample) => {
    const combined = new Array<number>(row.length).fill(0);
    for (const member of members) {
      const probabilities = member[sample] ?? [];
      if (ensemble.method === 'average') {
        for (const [c, p] of probabilities.entries())
          combined[c] = (combined[c] as number) + p / members.length;
      } else {
        const top = argmax(probabilities);
        combined[top] = (combined[top] as number) + 1 / members.length;
      }
    }
    return combined;
  });
}
