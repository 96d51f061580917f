/**
 * Authenticated denial for an answer: which NSEC or NSEC3 records (with their RRSIGs) go into the
 * authority section, for each kind of answer the answer path gives (RFC 4035 3.1.3, RFC 5155 7.2).
 * The answer path says what it answered; this module picks the proof from the signed zone.
 *
 * - NXDOMAIN: NSEC covering the name and NSEC covering the wildcard at the closest encloser;
 *   NSEC3: the closest-encloser proof (matching the closest encloser, covering the next closer
 *   name) and the NSEC3 covering the wildcard at the closest encloser.
 * - NODATA: the NSEC/NSEC3 matching the name. For an empty non-terminal under NSEC, which has no
 *   NSEC of its own, the NSEC covering it (its next name is below the ENT).
 * - A wildcard answer: proof that the name itself does not exist (NSEC covering it; NSEC3 covering
 *   the next closer name).
 * - Wildcard NODATA: that proof plus the NSEC/NSEC3 matching the wildcard.
 * - A referral to a delegation without DS, or NODATA for DS there: the record matching the cut.
 */
import { splitLabels } from '../records/names.ts';
import type { CanonicalRRset } from './rrsig.ts';
import type { DenialRecord, SignedZone } from './signed-zone.ts';

export type DenialCase =
  | { kind: 'nxdomain'; qname: string }
  | { kind: 'nodata'; qname: string }
  | { kind: 'wildcard-answer'; qname: string; wildcard: string }
  | { kind: 'wildcard-nodata'; qname: string; wildcard: string }
  | { kind: 'insecure-referral'; cut: string };

/** The longest ancestor of `qname` (itself excluded) that exists in the zone, and the name one label below it on the way to `qname`. */
export function closestEncloser(z: SignedZone, qname: string): { encloser: string; nextCloser: string } {
  const labels = splitLabels(qname);
  const apexLabels = splitLabels(z.zone).length;
  for (let n = labels.length - 1; n >= apexLabels; n--) {
    const candidate = n === 0 ? '.' : `${labels.slice(labels.length - n).join('.')}.`;
    if (n === apexLabels || z.exists(candidate)) {
      return { encloser: candidate, nextCloser: `${labels.slice(labels.length - n - 1).join('.')}.` };
    }
  }
  throw new RangeError(`${qname} is not below ${z.zone}`);
}

function wildcardAt(encloser: string): string {
  return encloser === '.' ? '*.' : `*.${encloser}`;
}

/** The NSEC/NSEC3 RRsets and their RRSIGs that prove `c`, without duplicates, in a stable order. */
export function denialProof(z: SignedZone, c: DenialCase): CanonicalRRset[] {
  const picked: DenialRecord[] = [];
  const add = (r: DenialRecord | undefined): void => {
    if (r && !picked.some((p) => p.rrset.owner === r.rrset.owner)) picked.push(r);
  };
  const matchOrCover = (name: string): DenialRecord => z.denialMatching(name) ?? z.denialCovering(name);
  const nsec3 = z.denial === 'nsec3';
  switch (c.kind) {
    case 'nxdomain': {
      const { encloser, nextCloser } = closestEncloser(z, c.qname);
      if (nsec3) {
        add(z.denialMatching(encloser));
        add(z.denialCovering(nextCloser));
      } else {
        add(z.denialCovering(c.qname));
      }
      add(z.denialCovering(wildcardAt(encloser)));
      break;
    }
    case 'nodata':
      add(matchOrCover(c.qname));
      break;
    case 'wildcard-answer':
    case 'wildcard-nodata': {
      if (nsec3) {
        const { encloser, nextCloser } = closestEncloser(z, c.qname);
        if (c.kind === 'wildcard-nodata') add(z.denialMatching(encloser));
        add(z.denialCovering(nextCloser));
      } else {
        add(z.denialCovering(c.qname));
      }
      // An empty non-terminal wildcard has no NSEC of its own: the one covering it proves it empty.
      if (c.kind === 'wildcard-nodata') add(matchOrCover(c.wildcard));
      break;
    }
    case 'insecure-referral':
      add(z.denialMatching(c.cut));
      break;
  }
  const out: CanonicalRRset[] = [];
  for (const p of picked) out.push(p.rrset, p.rrsig);
  return out;
}
