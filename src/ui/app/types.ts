/** The API shapes the page reads (REST JSON, snake_case as the API writes it). */
import type { FeedEvent, Hello } from './feed.ts';

export interface Zone {
  name: string;
  serial: number;
  primary_ns: string;
  admin_email: string;
  ttl: number;
  record_count: number;
}

export interface DnsRecord {
  id: string;
  name: string;
  fqdn: string;
  type: string;
  value: string;
  ttl: number;
}

export interface HistoryEntry {
  seq: number;
  time: string;
  actor: string;
  zone: string;
  batch_id: string;
  event: string;
  payload: Record<string, any>;
  surface?: string;
  old?: Record<string, any>;
  new?: Record<string, any>;
  restored_to?: { seq: number; at?: string };
}

/** A signed-in session: the token and who it is. */
export interface Session {
  token: string;
  me: Hello;
}

/** The newest batch the feed delivered (pages refresh when it concerns them). */
export interface LiveChange {
  seq: number;
  events: FeedEvent[];
}

/** Whether the session may write this record name (mirror of the hello's capabilities, for hiding controls). */
export function mayWrite(s: Session, relativeName?: string): boolean {
  if (s.me.may.records === 'all') return true;
  if (s.me.may.records === 'none') return false;
  return relativeName === undefined || relativeName.toLowerCase() === s.me.username.toLowerCase();
}
