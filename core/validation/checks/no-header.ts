import { error, type Finding } from '../finding.ts';

/** `no-header`: the first row looks like data (two or more names, every one a number). */
export function noHeader(names: readonly string[]): readonly Finding[] {
  if (names.length < 2 || !names.every((name) => name !== '' && !Number.isNaN(Number(name)))) return [];
  return [error('no-header', 'the first row looks like data, not a header: every name is a number')];
}

/** `no-header` of a file with no row at all. */
export function noHeaderRow(): Finding {
  return error('no-header', 'the file has no header row');
}
