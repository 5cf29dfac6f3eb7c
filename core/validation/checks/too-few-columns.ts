import { error, type Finding } from '../finding.ts';

/** `too-few-columns`: fewer than a feature and a label. */
export function tooFewColumns(names: readonly string[]): readonly Finding[] {
  if (names.length >= 2) return [];
  return [error('too-few-columns', 'the file needs at least two columns: one feature and a label')];
}
