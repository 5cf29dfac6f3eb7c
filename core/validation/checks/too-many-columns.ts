import { error, type Finding } from '../finding.ts';

/**
 * The most columns a table may have. A dataset's schema travels in the pipeline's state (Step Functions:
 * 256 KB) and in its registry item (DynamoDB: 400 KB); past this a table is not one a model here learns from
 * (images are a zip or a folder of class folders, not a CSV of pixels).
 */
export const MAX_COLUMNS = 2000;

/** `too-many-columns`: a header wider than MAX_COLUMNS (the table is then not profiled). */
export function tooManyColumns(names: readonly string[]): readonly Finding[] {
  if (names.length <= MAX_COLUMNS) return [];
  return [
    error(
      'too-many-columns',
      `the header has ${names.length} columns; a table may have at most ${MAX_COLUMNS}`,
    ),
  ];
}
