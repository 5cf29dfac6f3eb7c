import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `non-numeric-label`: a regression label with a value that is not a number. */
export function nonNumericLabel({ label }: LabelledProfile): readonly Finding[] {
  if (label.task !== 'regression' || label.numeric) return [];
  const bad = label.values.find((v) => !Number.isFinite(Number(v)));
  return [
    error(
      'non-numeric-label',
      `regression needs a numeric label; "${label.name}" has the value ${JSON.stringify(bad)}`,
      { column: label.name },
    ),
  ];
}
