/**
 * DNAME substitution (RFC 6672 2.2): a name below a DNAME owner is redirected by replacing the
 * owner suffix with the DNAME's target. The answer carries the DNAME and a CNAME synthesized from
 * it (owner: the name asked; TTL: the DNAME's), and the substituted name is looked up next; a
 * substituted name longer than a domain name may be (255 octets) is YXDOMAIN.
 */
import { nameToWire, splitLabels } from '../records/names.ts';

/**
 * The name `name` (at or below `owner`, both absolute presentation names) becomes under a DNAME of
 * `owner` pointing at `target`; undefined when it would be longer than 255 octets on the wire.
 */
export function substituteDname(name: string, owner: string, target: string): string | undefined {
  const labels = splitLabels(name);
  const prefix = labels.slice(0, labels.length - splitLabels(owner).length);
  const substituted = prefix.length === 0 ? target : target === '.' ? `${prefix.join('.')}.` : `${prefix.join('.')}.${target}`;
  try {
    nameToWire(substituted);
  } catch {
    return undefined;
  }
  return substituted;
}
