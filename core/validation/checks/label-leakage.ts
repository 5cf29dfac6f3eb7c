import { error, type Finding } from '../finding.ts';
import type { ColumnFacts, LabelledProfile } from '../profile.ts';

/** `label-leakage`: a feature identical to the label in every row. */
export function labelLeakage(
  { name, role, sameAsLabel }: ColumnFacts,
  profile: LabelledProfile,
): readonly Finding[] {
  if (role !== 'feature' || !sameAsLabel || profile.rows === 0) return [];
  return [
    error(
      'label-leakage',
      `column "${name}" is identical to the label "${profile.label.name}": a model would learn nothing`,
      { column: name },
    ),
  ];
}
