import { error, type Finding } from '../finding.ts';
import type { TableProfile } from '../profile.ts';

/**
 * The longest cell a table's column (or its label) may hold: a category, a number, a short code. Longer is free
 * text — a user leaves it out with the manifest's `ignore` — and a category of it would be carried in every
 * schema, preprocessor and predict answer of the model (a request's strings are bounded the same way).
 */
export const MAX_CELL_CHARS = 1024;

/** `cell-too-long`: cells over MAX_CELL_CHARS outside the ignored columns. */
export function cellTooLong({ longCells }: TableProfile): readonly Finding[] {
  if (longCells.count === 0) return [];
  const columns = longCells.examples.map((c) => JSON.stringify(c.slice(0, 40))).join(', ');
  return [
    error(
      'cell-too-long',
      `${longCells.count} cell(s) are longer than ${MAX_CELL_CHARS} characters (column ${columns}; rows ${longCells.lines.join(', ')}): free text is not a value a model takes — list the column in the manifest's "ignore"`,
      { rows: longCells.lines },
    ),
  ];
}
