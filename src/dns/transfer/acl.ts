/**
 * Who may transfer zones: `[transfer] allow_from` (IPv4/IPv6 addresses and CIDRs) and
 * `allow_keys` (TSIG key names, accepted from any address once the signature verified).
 * Everything else is refused; the caller answers REFUSED and logs the peer.
 */
import { isIP } from 'node:net';
import { McnsError } from '../../errors.ts';
import { normalizeName } from '../../records/names.ts';

/** One parsed CIDR: the network as a 128-bit value (IPv4 mapped into ::ffff:0:0/96) and its prefix. */
interface Cidr {
  net: bigint;
  prefix: number;
}

/** IPv4 or IPv6 text to a 128-bit number; IPv4 (and IPv4-mapped IPv6) becomes ::ffff:a.b.c.d. */
function addressValue(address: string): bigint | undefined {
  let a = address;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const kind = isIP(a);
  if (kind === 4) {
    const parts = a.split('.').map(Number);
    return (0xffffn << 32n) | BigInt(((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0);
  }
  if (kind !== 6) return undefined;
  let text = a.toLowerCase();
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex words.
  const dot = text.lastIndexOf(':');
  if (text.includes('.', dot)) {
    const v4 = text.slice(dot + 1).split('.').map(Number);
    text = `${text.slice(0, dot + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const words = tail !== undefined ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  let v = 0n;
  for (const w of words) v = (v << 16n) | BigInt(parseInt(w, 16));
  return v;
}

function parseCidr(text: string, field: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const value = addressValue(addr);
  if (value === undefined) throw new McnsError('invalid', `"${text}" is not an IP address or CIDR`, field);
  const v4 = isIP(addr.split('%')[0]) === 4;
  const max = v4 ? 32 : 128;
  const bits = slash >= 0 ? Number(text.slice(slash + 1)) : max;
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    throw new McnsError('invalid', `"${text}" has a prefix length outside 0..${max}`, field);
  }
  const prefix = v4 ? 96 + bits : bits;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(128 - prefix);
  return { net: value & mask, prefix };
}

/** The transfer access list; build once from config with {@link TransferAcl.from}. */
export class TransferAcl {
  private constructor(
    private readonly cidrs: readonly Cidr[],
    private readonly keys: ReadonlySet<string>,
  ) {}

  /** Parse `allow_from` and `allow_keys`; throws McnsError naming the bad entry. */
  static from(cfg: { allow_from: readonly string[]; allow_keys: readonly string[] }): TransferAcl {
    const cidrs = cfg.allow_from.map((c, i) => parseCidr(c, `transfer.allow_from[${i}]`));
    const keys = new Set<string>();
    for (const [i, k] of cfg.allow_keys.entries()) {
      try {
        keys.add(normalizeName(k));
      } catch (err) {
        throw new McnsError('invalid', (err as Error).message, `transfer.allow_keys[${i}]`);
      }
    }
    return new TransferAcl(cidrs, keys);
  }

  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) is inside one of the allowed networks. */
  allowsAddress(address: string): boolean {
    const v = addressValue(address);
    if (v === undefined) return false;
    for (const c of this.cidrs) {
      const mask = c.prefix === 0 ? 0n : ((1n << BigInt(c.prefix)) - 1n) << BigInt(128 - c.prefix);
      if ((v & mask) === c.net) return true;
    }
    return false;
  }

  /** True when a request signed (and verified) with this key may transfer from anywhere. */
  allowsKey(keyName: string | undefined): boolean {
    return keyName !== undefined && this.keys.has(keyName.toLowerCase().replace(/\.?$/, '.'));
  }

  /** The decision for one request: its peer address and the verified TSIG key, if any. */
  allows(address: string, keyName?: string): boolean {
    return this.allowsKey(keyName) || this.allowsAddress(address);
  }
}
