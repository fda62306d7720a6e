/**
 * Account options split by the manifest's `secretOptions` dot paths, so the gateway can store the
 * secret part encrypted and show or log only the public part.
 */

export type OptionsObject = Record<string, unknown>;

function isPlainObject(v: unknown): v is OptionsObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A JSON-shaped deep copy; secrets must never be shared by reference between the two halves. */
function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => deepCopy(x)) as T;
  if (isPlainObject(v)) {
    const out: OptionsObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = deepCopy(x);
    return out as T;
  }
  return v;
}

function segments(dotPath: string): string[] {
  const parts = dotPath.split('.');
  if (parts.some((p) => p === ''))
    throw new TypeError(`secret option path "${dotPath}" has an empty segment`);
  return parts;
}

/** Removes the value at `parts` from `from` and returns it (or `undefined` when absent). */
function takeAt(from: OptionsObject, parts: string[]): { found: boolean; value: unknown } {
  let node: unknown = from;
  for (let i = 0; i < parts.length - 1; i++) {
    if (!isPlainObject(node)) return { found: false, value: undefined };
    node = node[parts[i]!];
  }
  const last = parts[parts.length - 1]!;
  if (!isPlainObject(node) || !Object.prototype.hasOwnProperty.call(node, last))
    return { found: false, value: undefined };
  const value = node[last];
  delete node[last];
  return { found: true, value };
}

function putAt(into: OptionsObject, parts: string[], value: unknown): void {
  let node: OptionsObject = into;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i]!;
    const next = node[key];
    if (isPlainObject(next)) node = next;
    else {
      const created: OptionsObject = {};
      node[key] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1]!] = value;
}

/** `{ public, secrets }`: the options without the secret paths, and an object holding only those paths. */
export function splitSecretOptions(
  options: unknown,
  secretPaths: readonly string[],
): { public: OptionsObject; secrets: OptionsObject } {
  if (!isPlainObject(options)) throw new TypeError('account options must be an object');
  const pub = deepCopy(options);
  const secrets: OptionsObject = {};
  for (const p of secretPaths) {
    const parts = segments(p);
    const taken = takeAt(pub, parts);
    if (taken.found) putAt(secrets, parts, taken.value);
  }
  return { public: pub, secrets };
}

/** The inverse of `splitSecretOptions`: the public options with the secret values put back in place. */
export function mergeSecretOptions(publicPart: unknown, secrets: unknown): OptionsObject {
  if (!isPlainObject(publicPart)) throw new TypeError('public options must be an object');
  const out = deepCopy(publicPart);
  if (secrets === undefined || secrets === null) return out;
  if (!isPlainObject(secrets)) throw new TypeError('secret options must be an object');
  const walk = (src: OptionsObject, prefix: string[]): void => {
    for (const [k, v] of Object.entries(src)) {
      // Descend only where the public side has an object too; otherwise the secret replaces the slot whole.
      if (isPlainObject(v) && Object.keys(v).length > 0) walk(v, [...prefix, k]);
      else putAt(out, [...prefix, k], deepCopy(v));
    }
  };
  walk(secrets, []);
  return out;
}

export const SECRET_MASK = '********';

/** A copy for logs and API output: every present secret path replaced by a mask. */
export function maskSecretOptions(options: unknown, secretPaths: readonly string[]): OptionsObject {
  const { public: pub, secrets } = splitSecretOptions(options, secretPaths);
  for (const p of secretPaths) {
    const parts = segments(p);
    if (takeAt(deepCopy(secrets), parts).found) putAt(pub, parts, SECRET_MASK);
  }
  return pub;
}
