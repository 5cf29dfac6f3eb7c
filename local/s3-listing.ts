/**
 * Listing the keys of a bucket in s3rver's filesystem store in S3's order (bytes of UTF-8): the keys stored as
 * paths, walked folder by folder, merged with those stored by hash (./s3-key-paths.ts).
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compareKeys,
  errorCode,
  HASHED_DIR,
  KEY_SUFFIX,
  keyHash,
  MARK,
  OBJECT_SUFFIX,
} from './s3-key-paths.ts';

export interface ListOptions {
  readonly delimiter?: string | undefined;
  readonly startAfter?: string | undefined;
  readonly prefix?: string | undefined;
  readonly maxKeys?: number | undefined;
}

/** The keys (no more than `maxKeys`) and common prefixes of one page of a listing. */
export interface ListedKeys {
  readonly keys: string[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
}

/**
 * Keys in S3's order (bytes of UTF-8), which s3rver's folder walk did not give (`a/b` came before `a.c`, a
 * trailing-slash key before its siblings), with a common prefix reported even when its keys are deeper than one
 * folder (s3rver did not descend there), and a truncated page holding only the common prefixes before its last
 * key (the next page starts after that key and would repeat the others).
 */
export async function listKeys(bucketPath: string, options: ListOptions): Promise<ListedKeys> {
  const prefix = options.prefix ?? '';
  const startAfter = options.startAfter ?? '';
  const delimiter = options.delimiter ?? '';
  const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
  const walk: WalkState = { prefix, startAfter };
  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  let isTruncated = false;
  const hashed = await hashedKeys(bucketPath, prefix);
  for await (const key of mergeSorted(pathKeys(bucketPath, '', walk), hashed)) {
    if (!key.startsWith(prefix) || compareKeys(key, startAfter) <= 0) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (at !== -1) {
      const commonPrefix = key.slice(0, at + delimiter.length);
      // Keys sharing a prefix are adjacent in sorted order.
      if (commonPrefixes.at(-1) !== commonPrefix) commonPrefixes.push(commonPrefix);
      walk.skipUnder = commonPrefix;
      continue;
    }
    if (keys.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    keys.push(key);
  }
  const last = keys.at(-1);
  if (isTruncated && last !== undefined) {
    while (commonPrefixes.length > 0 && compareKeys(commonPrefixes.at(-1) ?? '', last) > 0) {
      commonPrefixes.pop();
    }
  }
  return { keys, commonPrefixes, isTruncated };
}

interface WalkState {
  readonly prefix: string;
  readonly startAfter: string;
  /** A common prefix already reported: no need to read the folders under it. */
  skipUnder?: string;
}

/**
 * The keys stored as paths under `dir`, in S3's order: a folder's keys all begin with `<folder>/`, so sorting a
 * folder's entries by `<folder>/` and `<file's key>` and descending in that order yields every key in order.
 */
async function* pathKeys(dir: string, keyPrefix: string, walk: WalkState): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
    throw error;
  }
  const children: { key: string; bytes: Buffer; dir?: string }[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // s3rver follows links and some filesystems do not say what an entry is: ask.
    const kind = entry.isFile() || entry.isDirectory() ? entry : await stat(path).catch(() => undefined);
    if (kind?.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
      const key = keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length);
      children.push({ key, bytes: Buffer.from(key) });
    } else if (kind?.isDirectory() && !entry.name.includes(MARK)) {
      // (s3rver's uploads and the hashed keys are folders with the mark; plain key folders never have it.)
      const under = `${keyPrefix}${entry.name}/`;
      const meetsPrefix = under.startsWith(walk.prefix) || walk.prefix.startsWith(under);
      const allBeforeStart = compareKeys(under, walk.startAfter) < 0 && !walk.startAfter.startsWith(under);
      if (meetsPrefix && !allBeforeStart) children.push({ key: under, bytes: Buffer.from(under), dir: path });
    }
  }
  children.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  for (const child of children) {
    if (child.dir === undefined) yield child.key;
    else if (!(walk.skipUnder !== undefined && child.key.startsWith(walk.skipUnder))) {
      yield* pathKeys(child.dir, child.key, walk);
    }
  }
}

/** The keys stored by hash under `prefix`, sorted; only those whose object is there. */
async function hashedKeys(bucketPath: string, prefix: string): Promise<string[]> {
  const dir = join(bucketPath, HASHED_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  const present = new Set(names);
  const keys: string[] = [];
  for (const name of names) {
    if (!name.endsWith(KEY_SUFFIX)) continue;
    const hash = name.slice(0, -KEY_SUFFIX.length);
    if (!present.has(`${hash}${OBJECT_SUFFIX}`)) continue;
    const key = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (key?.startsWith(prefix) && keyHash(key) === hash) keys.push(key);
  }
  return keys.sort(compareKeys);
}

async function* mergeSorted(paths: AsyncIterable<string>, hashed: readonly string[]): AsyncGenerator<string> {
  let i = 0;
  for await (const key of paths) {
    for (let next = hashed[i]; next !== undefined && compareKeys(next, key) < 0; next = hashed[++i]) {
      yield next;
    }
    yield key;
  }
  for (; i < hashed.length; i++) yield hashed[i] as string;
}
