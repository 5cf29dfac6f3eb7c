import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `one-class`: a classification label of fewer than two values. */
export function oneClass({ label }: LabelledProfile): readonly Finding[] {
  if (label.task !== 'classification' || label.values.length >= 2) return [];
  return [
    error(
      'one-class',
      `label "${label.name}" has ${label.values.length} distinct value(s); a classifier needs at least 2`,
      { column: label.name },
    ),
  ];
}
