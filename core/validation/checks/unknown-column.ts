import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** `unknown-column`: each column the manifest ignores or types that is not in the header. */
export function unknownColumn({ header, options }: LabelledProfile): readonly Finding[] {
  return [...(options.ignore ?? []), ...Object.keys(options.types ?? {})]
    .filter((name) => !header.includes(name))
    .map((name) =>
      error('unknown-column', `the manifest names column "${name}", which is not in the header`, {
        column: name,
      }),
    );
}
