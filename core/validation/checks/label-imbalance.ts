import { type Finding, warning } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** A class this many times rarer than the commonest is an imbalance worth a warning. */
export const IMBALANCE_RATIO = 10;

/** `label-imbalance`: the commonest class IMBALANCE_RATIO times the rarest, or more. */
export function labelImbalance({ label }: LabelledProfile): readonly Finding[] {
  if (label.task !== 'classification') return [];
  const sizes = Object.values(label.counts);
  const [most, least] = [Math.max(0, ...sizes), Math.min(Number.POSITIVE_INFINITY, ...sizes)];
  if (sizes.length < 2 || most < IMBALANCE_RATIO * least) return [];
  return [
    warning(
      'label-imbalance',
      `the classes are imbalanced (${most} vs ${least} rows): consider "classWeight": "balanced" or "oversample": "smote"`,
      { column: label.name },
    ),
  ];
}
