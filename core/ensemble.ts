/** Ensembles: several trained models served as one, their class probabilities combined. */
import { argmax } from './metrics.ts';

export type EnsembleMethod = 'average' | 'vote';

/** `ensemble.json` in a model folder: the members' model files are in subfolders of it. */
export interface EnsembleManifest {
  readonly method: EnsembleMethod;
  readonly members: readonly { readonly trial: number; readonly folder: string }[];
}

/**
 * Combines the members' probabilities (member × sample × class): `average` is the mean probability;
 * `vote` gives each class the share of members whose top class it is (ties go to the lower class index,
 * as argmax does).
 */
export function combinePredictions(
  method: EnsembleMethod,
  members: readonly (readonly (readonly number[])[])[],
): number[][] {
  const [first] = members;
  if (!first) return [];
  return first.map((row, sample) => {
    const combined = new Array<number>(row.length).fill(0);
    for (const member of members) {
      const probabilities = member[sample] ?? [];
      if (method === 'average') {
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
