import { error, type Finding } from '../finding.ts';
import { type LabelledProfile, MAX_DISTINCT } from '../profile.ts';

/** `too-many-classes`: a classification label of more than MAX_DISTINCT values. */
export function tooManyClasses({ label }: LabelledProfile): readonly Finding[] {
  if (label.task !== 'classification' || !label.overflow) return [];
  return [
    error(
      'too-many-classes',
      `label "${label.name}" has more than ${MAX_DISTINCT} distinct values; a classifier needs fewer`,
      { column: label.name },
    ),
  ];
}
