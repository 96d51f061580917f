/**
 * The DNS warm-up: before the listeners bind, the server answers questions of its own through
 * loopback UDP sockets served exactly as a listener is: WARM_UP_ANSWERS of them, or for `ms`
 * milliseconds at most ([dns] warm_up).
 *
 * Why: a fresh process runs its code unoptimized (V8 tiers a function up only after it has run a
 * while), so its first second of serving answered 82-87% of what the same process answered a
 * second later (10k and 1M realistic zones, `bin/mcns server` pinned to a core, dnsperf from the
 * bind; bench/dns/warm-up.ts, bench/RESULTS.md). Most of that was not the serving index's lookup but
 * the path around it: dgram's receive and send, the handler, the response writer. Questions asked
 * through real sockets warm all of it: with 8,000 of them (~0.3 s) the first second was 91-95%
 * (three times as many gave no more), and 95-98% once nothing V8 optimized in the warm-up was thrown
 * away at the first clients (see warmUpQuestions and warmUp; the handler's timing in server.ts).
 *
 * What it costs later, measured with two servers side by side (bench/RESULTS.md): steady rates 1-3%
 * below a server without it on dnsperf's narrow mix (no EDNS), ~1% with EDNS. Its questions are of
 * more kinds than one benchmark's, so V8's code is a little more general; a real client mix does the
 * same. Two things it does keep that small:
 * - The questions arrive as the clients' do, as buffers made by dgram. Asking the index directly
 *   with buffers made here had V8 optimize its lookup for the other kind of buffer, and throw that
 *   code away at the first client's question (--trace-deopt).
 * - A socket is closed before any of it (see warmUp): without that, the steady rate was 2-3% lower.
 *
 * The questions are the index's own names (A, AAAA, MX, TXT, a name below each and a sibling:
 * NXDOMAIN or a wildcard's answer), half with an OPT record, some in mixed case, as clients ask
 * (warmUpQuestions). Those the index does not answer are refused while the warm-up lasts (DnsServer's
 * handler), so it never takes the general path: it reads no big zone and fills no answer cache. The
 * caller leaves its counters (queries by rcode, messages received) as they were before.
 */
import dgram from 'node:dgram';

/** Names asked about, at most (from the index's hash order: a spread over its zones). */
export const WARM_UP_NAMES = 256;
/**
 * Answers after which the warm-up ends, sooner than its time when the machine is fast: V8 optimizes
 * a function after it has run a number of times, not after a time. 8,000: at ~4,700-7,200 answers
 * (200 ms on this machine's fast phases) the first second was as good as after 400 or 800 ms; in a
 * slow phase 200 ms gave only 2,100-2,800, and less of the gain.
 */
export const WARM_UP_ANSWERS = 8000;
/** Questions in flight at once: enough that the server's socket always has one waiting. */
const WINDOW = 32;
/** After the last question is sent, answers still due are waited for this long at most. */
const GRACE_MS = 100;

/** RR types asked at each name: what clients ask most, so mostly answers and some NODATA. */
const QTYPES = [1, 28, 15, 16];
/** The label put in front of a name for a question that should find nothing there. */
const BELOW = Buffer.from('\x0cmcns-warm-up', 'latin1');
/** What a sibling's label is cut from (see warmUpQuestions). */
const SIBLING = 'mcns-warm-up-'.repeat(5).slice(0, 63);
/** An OPT record: root owner, type 41, UDP size 1232, no flags, no options. */
const OPT = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);

/**
 * Warm-up questions about `names` (lowercased wire names): at each, A, AAAA, MX and TXT; A at a name
 * below it; and A at a sibling whose label is 1 to 63 bytes long, a different length for each name
 * in turn. Half carry an OPT record, and every other pair is asked in mixed case (as resolvers
 * that randomize case ask).
 *
 * Why the siblings and the case: a comparison the warm-up never makes has V8 throw away the code it
 * optimized, at the first client question that makes it, and compile it again while serving. The
 * negative answer compares the label under the apex with the SOA's names' labels of the same length
 * (negative.ts, riskyUnderApex), so an NXDOMAIN of a new length did that (--trace-deopt: the writer,
 * ~30 ms of compiling, in the first second after the bind). Letters are folded only when uppercase.
 */
export function warmUpQuestions(names: readonly Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  let id = 0;
  const ask = (prefix: Uint8Array | undefined, name: Uint8Array, qtype: number): void => {
    const nameLength = (prefix?.length ?? 0) + name.length;
    if (nameLength > 255) return;
    const edns = (id & 1) === 1;
    const mixed = (id & 2) === 2;
    const q = Buffer.alloc(12 + nameLength + 4 + (edns ? OPT.length : 0));
    q.writeUInt16BE(++id & 0xffff, 0);
    q.writeUInt16BE(1, 4); // QDCOUNT
    if (edns) q.writeUInt16BE(1, 10); // ARCOUNT
    let o = 12;
    if (prefix) {
      q.set(prefix, o);
      o += prefix.length;
    }
    q.set(name, o);
    o += name.length;
    if (mixed) upperEveryOtherLetter(q, 12, o);
    q.writeUInt16BE(qtype, o);
    q.writeUInt16BE(1, o + 2); // IN
    if (edns) OPT.copy(q, o + 4);
    out.push(q);
  };
  names.forEach((name, i) => {
    for (const t of QTYPES) ask(undefined, name, t);
    ask(BELOW, name, 1);
    // The sibling: a label of its own length in place of the name's first (none for the root).
    if (name[0] === 0) return;
    const length = 1 + (i % 63);
    const label = Buffer.from(`\0${SIBLING.slice(0, length)}`, 'latin1');
    label[0] = length;
    ask(label, name.subarray(name[0] + 1), 1);
  });
  return out;
}

/** Uppercases every other letter of the wire name in `b[start..end)` (its length bytes are left as they are). */
function upperEveryOtherLetter(b: Uint8Array, start: number, end: number): void {
  let p = start;
  let upper = true;
  while (p < end && b[p] !== 0) {
    const labelEnd = p + 1 + b[p];
    for (let k = p + 1; k < labelEnd; k++) {
      const c = b[k];
      if (c < 97 || c > 122) continue;
      if (upper) b[k] = c & 0xdf;
      upper = !upper;
    }
    p = labelEnd;
  }
}

/** What a warm-up did, for the start-up log. */
export interface WarmUpResult {
  /** The loopback address its sockets were bound to. */
  loopback: string;
  questions: number;
  sent: number;
  answered: number;
  ms: number;
  /** Why it ended before asking anything (a socket could not be bound). */
  problem?: string;
}

/**
 * Binds `servers` (sockets, not bound yet, that answer as listeners do) and `client` (a socket made
 * as the listeners' are: dgram's code then runs as it will for them) to `loopback` (127.0.0.1 for
 * udp4 sockets, ::1 for udp6), and asks `questions` in turn, of each server in turn, WINDOW at a
 * time, until `answers` were answered or `ms` milliseconds have passed; then closes them all. Never
 * rejects: a socket that cannot be bound or fails ends the warm-up early (the result says how far it
 * got), and lost answers cost at most GRACE_MS.
 *
 * Why more than one server: the listeners' functions are closures made for each socket. Made and run
 * for one socket alone, V8 compiled them for that socket (its `reply` inlined as the one call target)
 * and threw that code away at the first client's question to a real listener (--trace-deopt: "wrong
 * call target"). Two warm-up servers answering in turn have it compile them for any socket.
 */
export async function warmUp(servers: readonly dgram.Socket[], client: dgram.Socket, questions: readonly Buffer[], ms: number, answers = WARM_UP_ANSWERS, loopback = '127.0.0.1'): Promise<WarmUpResult> {
  const started = performance.now();
  const result: WarmUpResult = { loopback, questions: questions.length, sent: 0, answered: 0, ms: 0 };
  try {
    if (questions.length === 0 || servers.length === 0 || ms <= 0) return result;
    // A socket closed before dgram's code is optimized: closing one sets a field that had only ever
    // held a socket handle to null, and V8 throws away the code it optimized on that field's type.
    // Closing the warm-up's sockets after the warm-up then left the listeners 2-3% slower for good
    // (re-optimized, and not as well); with a close now the field's type is general from the start.
    dgram.createSocket('udp4').close();
    for (const server of servers) await bindUdp(server, loopback);
    await bindUdp(client, loopback);
    const ports = servers.map((server) => server.address().port);
    await new Promise<void>((resolve) => {
      // Should an answer be lost (none is expected), the warm-up still ends GRACE_MS after its time.
      const deadline = setTimeout(() => finish(), ms + GRACE_MS);
      const finish = (): void => {
        clearTimeout(deadline);
        resolve();
      };
      const send = (): void => {
        const k = result.sent++;
        client.send(questions[k % questions.length], ports[k % ports.length], loopback);
      };
      client.on('message', () => {
        result.answered++;
        if (result.sent < answers && performance.now() - started < ms) send();
        else if (result.answered >= result.sent) finish();
      });
      client.on('error', finish);
      for (const server of servers) server.on('error', finish);
      for (let k = 0; k < Math.min(WINDOW, answers); k++) send();
    });
  } catch (err) {
    // No such loopback address (or no socket at all): the server starts unwarmed.
    result.problem = err instanceof Error ? err.message : String(err);
  } finally {
    for (const server of servers) closeQuietly(server);
    closeQuietly(client);
  }
  result.ms = performance.now() - started;
  return result;
}

/** Closes a socket that may be closed already (dgram throws then). */
function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // Closed already.
  }
}

/** Binds a UDP socket; rejects with the bind's error (the listeners are bound with it too). */
export function bindUdp(socket: dgram.Socket, address: string, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}
