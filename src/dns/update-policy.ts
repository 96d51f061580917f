/**
 * What one DNS UPDATE key may change: the `[update.keys.NAME]` limits (zones, owner-name patterns,
 * record types), parsed once at start-up and asked for every RR of the update section.
 *
 * Name patterns match whole labels: each label of a pattern is either literal (compared without
 * case) or `*`, which stands for one or more whole labels, none of them the wildcard label `*`
 * itself ("_acme-challenge.*" matches "_acme-challenge.www.example.com." but not
 * "_acme-challenge-x.example.com." nor "_acme-challenge.*.example.com."). A `*` inside a label
 * ("host*.example.com") is refused at start-up: it would match labels the operator never meant.
 *
 * Types that delegate, redirect or sign a subtree (NS, DNAME, DS) hand away every name below the
 * owner, not just the owner. A key limited to names therefore may never change them (add, delete,
 * or delete the whole name holding them) unless its `types` list names them explicitly.
 */
import { McnsError } from '../errors.ts';
import { normalizeName, splitLabels } from '../records/names.ts';
import { RR_TYPE_BY_CODE, RR_TYPE_CODES, RR_TYPES } from '../records/types.ts';

/** What one key may change, as configured (empty or absent lists: no limit). */
export interface UpdateKeyLimits {
  zones?: string[];
  names?: string[];
  types?: string[];
}

/** The `[update]` configuration: keys allowed to update, and optional per-key limits. */
export interface UpdateConfig {
  allow_keys: string[];
  keys?: Record<string, UpdateKeyLimits>;
}

/** NS, DNAME and DS: a change to them moves, redirects or signs every name below the owner. */
const SUBTREE_TYPES: ReadonlyMap<number, string> = new Map([
  [2, 'NS'],
  [39, 'DNAME'],
  [43, 'DS'],
]);

/** Type mnemonics a `types` list may use: the stored types and the subtree types (stored or not yet). */
const TYPE_CODES: ReadonlyMap<string, number> = new Map<string, number>([
  ...RR_TYPES.map((t): [string, number] => [t, RR_TYPE_CODES[t]]),
  ...[...SUBTREE_TYPES].map(([code, name]): [string, number] => [name, code]),
]);

const TYPE_ANY = 255;
const CLASS_ANY = 255;

/** The mnemonic of a type code ("TXT", or "TYPE65" for one without a name here). */
export function typeMnemonic(code: number): string {
  return RR_TYPE_BY_CODE.get(code) ?? SUBTREE_TYPES.get(code) ?? `TYPE${code}`;
}

/**
 * Compile an owner-name pattern (see the module comment). Throws McnsError naming `field` when the
 * pattern is not a valid name or has a `*` that is not a whole label.
 */
export function namePattern(pattern: string, field = 'names'): (name: string) => boolean {
  let labels: string[];
  try {
    labels = splitLabels(normalizeName(pattern));
  } catch (err) {
    throw new McnsError('invalid', `pattern "${pattern}": ${(err as Error).message}`, field);
  }
  if (labels.length === 0) throw new McnsError('invalid', `pattern "${pattern}" matches only the root`, field);
  for (const l of labels) {
    if (l !== '*' && l.includes('*')) {
      throw new McnsError('invalid', `pattern "${pattern}": "*" must be a whole label (as in "_acme-challenge.*"); "${l}" would match parts of labels`, field);
    }
  }
  return (name) => {
    let nameLabels: string[];
    try {
      nameLabels = splitLabels(normalizeName(name));
    } catch {
      return false;
    }
    return matchLabels(labels, nameLabels);
  };
}

/** Whole-label match with `*` = one or more labels other than a literal `*`; memoised, O(p * n^2). */
function matchLabels(p: readonly string[], n: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    if (i === p.length) return j === n.length;
    const k = i * 256 + j;
    const known = memo.get(k);
    if (known !== undefined) return known;
    let ok = false;
    if (p[i] === '*') {
      for (let end = j + 1; end <= n.length && !ok; end++) {
        if (n[end - 1] === '*') break;
        ok = at(i + 1, end);
      }
    } else {
      ok = j < n.length && n[j] === p[i] && at(i + 1, j + 1);
    }
    memo.set(k, ok);
    return ok;
  };
  return at(0, 0);
}

/** Parse a `types` list ("TXT", "A", ...) to type codes. Throws McnsError naming `field`. */
export function parseTypes(types: readonly string[], field = 'types'): Set<number> {
  const out = new Set<number>();
  for (const t of types) {
    const code = TYPE_CODES.get(t.trim().toUpperCase());
    if (code === undefined) {
      throw new McnsError('invalid', `unknown record type "${t}" (known: ${[...TYPE_CODES.keys()].join(', ')})`, field);
    }
    out.add(code);
  }
  return out;
}

/** One RR of an update section, as far as the policy cares. */
export interface PolicyRR {
  name: string;
  type: number;
  class: number;
}

/** The limits of one key, compiled. */
export class KeyPolicy {
  private constructor(
    private readonly zones: ReadonlySet<string> | undefined,
    private readonly names: ReadonlyArray<(name: string) => boolean> | undefined,
    private readonly types: ReadonlySet<number> | undefined,
    private readonly describe: string,
  ) {}

  /** Compile a key's limits; throws McnsError naming the field (`update.keys.NAME.names`, ...). */
  static from(limits: UpdateKeyLimits | undefined, field: string): KeyPolicy {
    const zones = limits?.zones?.length
      ? new Set(
          limits.zones.map((z) => {
            try {
              return normalizeName(z);
            } catch (err) {
              throw new McnsError('invalid', `zone "${z}": ${(err as Error).message}`, `${field}.zones`);
            }
          }),
        )
      : undefined;
    const names = limits?.names?.length ? limits.names.map((p) => namePattern(p, `${field}.names`)) : undefined;
    const types = limits?.types?.length ? parseTypes(limits.types, `${field}.types`) : undefined;
    const describe = [limits?.names?.length ? `names ${limits.names.join(', ')}` : '', limits?.types?.length ? `types ${limits.types.join(', ')}` : ''].filter(Boolean).join('; ');
    return new KeyPolicy(zones, names, types, describe);
  }

  /** True when the key may update this zone (normalised apex). */
  allowsZone(zone: string): boolean {
    return !this.zones || this.zones.has(zone);
  }

  /**
   * Why the key may not make this change, or undefined when it may. `typesAt` lists the type codes
   * the name holds now (a whole-name delete removes them all).
   */
  refusal(rr: PolicyRR, typesAt: (name: string) => readonly number[]): string | undefined {
    const what = `update ${rr.name} ${rr.type === TYPE_ANY ? 'ANY' : typeMnemonic(rr.type)}`;
    if (this.names && !this.names.some((m) => m(rr.name))) return `${what}: the key may not change this name (${this.describe})`;
    if (rr.type === TYPE_ANY && rr.class === CLASS_ANY) {
      // Deleting every RRset of a name: refused when it would take a type the key may not change.
      if (this.types) return `${what}: a key limited to types may not delete every RRset of a name; delete each type (${this.describe})`;
      const held = typesAt(rr.name).find((t) => this.guardsSubtree(t));
      return held === undefined ? undefined : `${what}: the name holds ${typeMnemonic(held)}, which a key limited to names may not change unless its types list it`;
    }
    if (this.types && !this.types.has(rr.type)) return `${what}: the key may not change this type (${this.describe})`;
    if (this.guardsSubtree(rr.type)) return `${what}: ${typeMnemonic(rr.type)} delegates or redirects every name below; a key limited to names may not change it unless its types list it`;
    return undefined;
  }

  /** A subtree type this name-limited key has not been given explicitly. */
  private guardsSubtree(type: number): boolean {
    return this.names !== undefined && SUBTREE_TYPES.has(type) && !this.types?.has(type);
  }
}

/** The normalised key name ("acme-key.") of a configured name ("acme-key"); throws McnsError. */
function keyName(name: string, field: string): string {
  try {
    return normalizeName(name);
  } catch (err) {
    throw new McnsError('invalid', (err as Error).message, field);
  }
}

/**
 * Build the key policies from config: one per allowed key, every one in `knownKeys` (the TSIG
 * keyring), limits only for allowed keys. Throws McnsError naming the field.
 */
export function updatePolicies(config: UpdateConfig, knownKeys: { has(name: string): boolean }): Map<string, KeyPolicy> {
  const limitsByKey = new Map<string, [string, UpdateKeyLimits]>();
  for (const [k, limits] of Object.entries(config.keys ?? {})) limitsByKey.set(keyName(k, `update.keys.${k}`), [k, limits]);
  const out = new Map<string, KeyPolicy>();
  for (const k of config.allow_keys) {
    const n = keyName(k, 'update.allow_keys');
    if (!knownKeys.has(n)) throw new McnsError('invalid', `names key "${k}", which is not defined under [tsig.keys]`, 'update.allow_keys');
    const limits = limitsByKey.get(n);
    out.set(n, KeyPolicy.from(limits?.[1], `update.keys.${limits?.[0] ?? k}`));
  }
  for (const [n, [k]] of limitsByKey) {
    if (!out.has(n)) throw new McnsError('invalid', `limits key "${k}", which is not in update.allow_keys`, `update.keys.${k}`);
  }
  return out;
}
