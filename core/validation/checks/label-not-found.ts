import { error, type Finding } from '../finding.ts';
import type { TableProfile } from '../profile.ts';

/** `label-not-found`: the label column is not in the header (nothing else about the table is checked). */
export function labelNotFound({ label, header, options }: TableProfile): readonly Finding[] {
  if (label) return [];
  return [
    error('label-not-found', `label column "${options.label}" is not in the header (${header.join(', ')})`),
  ];
}
