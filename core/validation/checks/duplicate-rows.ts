import { type Finding, warning } from '../finding.ts';
import { type LabelledProfile, MAX_DUPLICATE_ROWS } from '../profile.ts';

/** `duplicate-rows`: rows that repeat an earlier row (among the first MAX_DUPLICATE_ROWS). */
export function duplicateRows({ duplicates, rows }: LabelledProfile): readonly Finding[] {
  if (duplicates.count === 0) return [];
  const scope = rows > MAX_DUPLICATE_ROWS ? ` (among the first ${MAX_DUPLICATE_ROWS} rows)` : '';
  return [
    warning(
      'duplicate-rows',
      `${duplicates.count} row(s) repeat an earlier row${scope}: rows ${duplicates.lines.join(', ')}`,
      { rows: duplicates.lines },
    ),
  ];
}
