import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `label-missing`: rows without a label. */
export function labelMissing({ label }: LabelledProfile): readonly Finding[] {
  const { name, missing } = label;
  if (missing.count === 0) return [];
  return [
    error(
      'label-missing',
      `label "${name}" is missing in ${missing.count} row(s): rows ${missing.lines.join(', ')}`,
      {
        column: name,
        rows: missing.lines,
      },
    ),
  ];
}
