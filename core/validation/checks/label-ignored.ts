import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `label-ignored`: the manifest ignores the label column. */
export function labelIgnored({ options }: LabelledProfile): readonly Finding[] {
  if (!options.ignore?.includes(options.label)) return [];
  return [error('label-ignored', `the label column "${options.label}" cannot be ignored`)];
}
