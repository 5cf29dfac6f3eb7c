import { type Finding, warning } from '../finding.ts';
import type { ColumnFacts } from '../profile.ts';

/** `constant-column`: a column of one value over more than one row (it is dropped). */
export function constantColumn({ name, role, cardinality, first }: ColumnFacts): readonly Finding[] {
  if (role !== 'dropped' || cardinality !== 1) return [];
  return [
    warning(
      'constant-column',
      `column "${name}" has one value ("${first}"): it carries no information and is left out`,
      { column: name },
    ),
  ];
}
