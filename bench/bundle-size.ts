/** A Lambda bundle folder's size: unzipped, zipped (raw deflate per file plus 100 bytes of zip headers), and zipped without source maps. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';

export function bundleSizes(dir: string): { unzipped: number; zipped: number; code: number } {
  let unzipped = 0;
  let zipped = 0;
  let code = 0;
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    if (!statSync(join(dir, file)).isFile()) continue;
    const bytes = readFileSync(join(dir, file));
    const deflated = deflateRawSync(bytes, { level: 9 }).byteLength + 100;
    unzipped += bytes.byteLength;
    zipped += deflated;
    if (!file.endsWith('.map')) code += deflated;
  }
  return { unzipped, zipped, code };
}
