import { error, type Finding } from '../finding.ts';
import type { ColumnFacts } from '../profile.ts';

/** `all-missing`: a column with no value (it is dropped). */
export function allMissing({ name, role, present }: ColumnFacts): readonly Finding[] {
  if (role !== 'dropped' || present > 0) return [];
  return [error('all-missing', `column "${name}" has no values`, { column: name })];
}
