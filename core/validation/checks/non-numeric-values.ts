import { error, type Finding, warning } from '../finding.ts';
import type { ColumnFacts } from '../profile.ts';

/**
 * `non-numeric-values`: text in a numeric column — an error when the manifest says it is numeric, else a
 * warning (the text is read as missing).
 */
export function nonNumericValues(column: ColumnFacts): readonly Finding[] {
  const { name, role, type, present, numericShare, strays } = column;
  if (role === 'ignored' || present === 0 || type !== 'numeric' || numericShare >= 1) return [];
  const where = { column: name, rows: strays.lines, examples: strays.examples };
  const message = `column "${name}" is numeric but ${strays.count} value(s) are not numbers (${where.examples
    .map((e) => JSON.stringify(e))
    .join(', ')})`;
  return [
    column.forced
      ? error('non-numeric-values', `${message}; the manifest says it is numeric`, where)
      : warning('non-numeric-values', `${message}; they are read as missing`, where),
  ];
}
