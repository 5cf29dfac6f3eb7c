import { error, type Finding } from '../finding.ts';

/**
 * `reserved-column-name`: a column named `__proto__`. Rows become objects keyed by column name in many places;
 * this one name would be their prototype there.
 */
export function reservedColumnName(names: readonly string[]): readonly Finding[] {
  if (!names.includes('__proto__')) return [];
  return [
    error('reserved-column-name', 'a column is named "__proto__", which no column may be: rename it', {
      column: '__proto__',
    }),
  ];
}
