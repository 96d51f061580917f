/**
 * Who may transfer zones: `[transfer] allow_from` (IPv4/IPv6 addresses and CIDRs) and
 * `allow_keys` (TSIG key names, accepted from any address once the signature verified).
 * Everything else is refused; the caller answers REFUSED and logs the peer.
 */
import { BlockList, isIP } from 'node:net';
import { McnsError } from '../../errors.ts';
import { normalizeName } from '../../records/names.ts';

/** Adds one `allow_from` entry (an address, or address/prefix) to `list`; throws McnsError naming it. */
function addCidr(list: BlockList, text: string, field: string): void {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const kind = isIP(addr);
  if (kind === 0) throw new McnsError('invalid', `"${text}" is not an IP address or CIDR`, field);
  const max = kind === 4 ? 32 : 128;
  const bitsText = slash >= 0 ? text.slice(slash + 1) : String(max);
  const bits = Number(bitsText);
  if (!/^\d+$/.test(bitsText) || bits > max) throw new McnsError('invalid', `"${text}" has a prefix length outside 0..${max}`, field);
  list.addSubnet(addr, bits, kind === 4 ? 'ipv4' : 'ipv6');
}

/** The transfer access list; build once from config with {@link TransferAcl.from}. */
export class TransferAcl {
  private constructor(
    private readonly networks: BlockList,
    private readonly keys: ReadonlySet<string>,
  ) {}

  /** Parse `allow_from` and `allow_keys`; throws McnsError naming the bad entry. */
  static from(cfg: { allow_from: readonly string[]; allow_keys: readonly string[] }): TransferAcl {
    const networks = new BlockList();
    for (const [i, c] of cfg.allow_from.entries()) addCidr(networks, c, `transfer.allow_from[${i}]`);
    const keys = new Set<string>();
    for (const [i, k] of cfg.allow_keys.entries()) {
      try {
        keys.add(normalizeName(k));
      } catch (err) {
        throw new McnsError('invalid', (err as Error).message, `transfer.allow_keys[${i}]`);
      }
    }
    return new TransferAcl(networks, keys);
  }

  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) is inside one of the allowed networks. */
  allowsAddress(address: string): boolean {
    // An IPv4-mapped IPv6 peer (a dual-stack socket) matches IPv4 networks too: BlockList maps them.
    const kind = isIP(address);
    return kind !== 0 && this.networks.check(address, kind === 4 ? 'ipv4' : 'ipv6');
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
