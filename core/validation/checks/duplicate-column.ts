import { error, type Finding } from '../finding.ts';

/** `duplicate-column`: each name the header gives twice or more, once. */
export function duplicateColumn(names: readonly string[]): readonly Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const reported = new Set<string>();
  for (const name of names) {
    if (seen.has(name) && name !== '' && !reported.has(name)) {
      reported.add(name);
      findings.push(error('duplicate-column', `the header names column "${name}" twice`, { column: name }));
    }
    seen.add(name);
  }
  return findings;
}
