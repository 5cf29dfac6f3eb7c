import { MIN_ROWS_PER_CLASS } from '../../dataset.ts';
import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `rare-class`: classes of fewer than MIN_ROWS_PER_CLASS rows (when there are two classes or more). */
export function rareClass({ label }: LabelledProfile): readonly Finding[] {
  const { task, values, counts, name } = label;
  const rare = values.filter((c) => (counts[c] ?? 0) < MIN_ROWS_PER_CLASS);
  if (task !== 'classification' || rare.length === 0 || values.length < 2) return [];
  return [
    error(
      'rare-class',
      `class(es) ${rare.map((c) => `"${c}" (${counts[c]} rows)`).join(', ')} have fewer than ${MIN_ROWS_PER_CLASS} rows`,
      { column: name },
    ),
  ];
}
