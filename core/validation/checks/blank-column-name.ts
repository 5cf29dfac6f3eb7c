import { error, type Finding } from '../finding.ts';

/** `blank-column-name`: the first header column without a name. */
export function blankColumnName(names: readonly string[]): readonly Finding[] {
  const blank = names.indexOf('');
  return blank < 0 ? [] : [error('blank-column-name', `header column ${blank + 1} has no name`)];
}
