import { error, type Finding } from '../finding.ts';

/** The longest column name (a schema's size, like MAX_COLUMNS). */
export const MAX_COLUMN_NAME_CHARS = 256;

/** `column-name-too-long`: the first column name over MAX_COLUMN_NAME_CHARS. */
export function columnNameTooLong(names: readonly string[]): readonly Finding[] {
  const long = names.find((name) => name.length > MAX_COLUMN_NAME_CHARS);
  if (long === undefined) return [];
  return [
    error(
      'column-name-too-long',
      `a column name is ${long.length} characters (${JSON.stringify(`${long.slice(0, 40)}…`)}); at most ${MAX_COLUMN_NAME_CHARS} are allowed`,
    ),
  ];
}
