import { error, type Finding } from '../finding.ts';

/** `no-rows`: a header and nothing under it. */
export function noRows(rows: number): readonly Finding[] {
  return rows === 0 ? [error('no-rows', 'the file has a header but no data rows')] : [];
}
