import { error, type Finding, hasError } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `no-features`: no feature column is left, and no error before this one says why. */
export function noFeatures({ features }: LabelledProfile, before: readonly Finding[]): readonly Finding[] {
  if (features.length > 0 || hasError(before)) return [];
  return [error('no-features', 'there is no feature column besides the label')];
}
