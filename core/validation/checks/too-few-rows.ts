import { MIN_ROWS } from '../../dataset.ts';
import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `too-few-rows`: fewer than MIN_ROWS data rows. */
export function tooFewRows({ rows }: LabelledProfile): readonly Finding[] {
  if (rows >= MIN_ROWS) return [];
  return [error('too-few-rows', `the dataset has ${rows} rows; at least ${MIN_ROWS} are needed`)];
}
