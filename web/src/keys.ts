/**
 * The keys the page keeps in this browser (localStorage when it allows it, else for the page's life): the API
 * key, which every read sends, and the admin key, which stands in for IAM on one machine and which the page
 * asks for the first time an action needs it.
 */

export type KeyName = 'api' | 'admin';

const STORAGE: Record<KeyName, string> = { api: 'nimbus-ml.api-key', admin: 'nimbus-ml.admin-key' };
const memory: Partial<Record<KeyName, string>> = {};

export const keys = {
  get(name: KeyName): string | undefined {
    try {
      return localStorage.getItem(STORAGE[name]) ?? memory[name];
    } catch {
      return memory[name];
    }
  },
  set(name: KeyName, key: string | undefined): void {
    if (key === undefined) delete memory[name];
    else memory[name] = key;
    try {
      if (key === undefined) localStorage.removeItem(STORAGE[name]);
      else localStorage.setItem(STORAGE[name], key);
    } catch {
      // storage disabled: the key lasts as long as the page
    }
  },
};

/**
 * `#key=<key>` (what `npm start` prints), optionally `&admin=<admin key>`: keeps them and returns true, so the
 * caller takes them out of the address bar and history.
 */
export function takeKeysFromFragment(hash: string): boolean {
  if (!/^#key=/.test(hash)) return false;
  const fields = new URLSearchParams(hash.slice(1));
  const api = fields.get('key');
  if (!api) return false;
  keys.set('api', api);
  const admin = fields.get('admin');
  if (admin) keys.set('admin', admin);
  return true;
}
