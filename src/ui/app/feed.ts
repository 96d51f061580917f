/**
 * The live feed (GET /v1/feed) read with fetch() and a stream reader: EventSource cannot send an
 * Authorization header, and the token must stay out of URLs and cookies. Parses text/event-stream
 * and reconnects after a drop, resuming after the last seq it saw.
 */
import { ApiError } from './api.ts';

/** The caller, as the feed's hello describes it. */
export interface Hello {
  username: string;
  account_type: 'human' | 'system';
  roles: string[];
  may: { zone_admin: boolean; records: 'all' | 'own' | 'none' };
  seq: number;
}

/** One event of the log as the feed sends it. */
export interface FeedEvent {
  seq: number;
  time: string;
  actor: string;
  zone: string;
  batch_id: string;
  event: string;
  payload: Record<string, any>;
}

export interface FeedHandlers {
  hello(h: Hello): void;
  change(events: FeedEvent[], seq: number): void;
  /** A refusal (401/403) ends the feed for good; other failures reconnect. */
  fatal(err: ApiError): void;
  status?(connected: boolean): void;
}

/** Split a text/event-stream into messages (event name and joined data lines). */
export function parseSse(buffer: string): { messages: Array<{ event: string; data: string; id?: string }>; rest: string } {
  const messages: Array<{ event: string; data: string; id?: string }> = [];
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const key = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (key === 'event') event = value;
      else if (key === 'data') data.push(value);
      else if (key === 'id') id = value;
    }
    if (data.length > 0) messages.push({ event, data: data.join('\n'), id });
  }
  return { messages, rest };
}

/** Open the feed; returns a function that closes it. */
export function openFeed(token: string, h: FeedHandlers): () => void {
  const ctl = new AbortController();
  let last: number | undefined;
  let closed = false;
  const run = async (): Promise<void> => {
    while (!closed) {
      try {
        const res = await fetch(`/v1/feed${last !== undefined ? `?after=${last}` : ''}`, {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
          signal: ctl.signal,
          credentials: 'omit',
          cache: 'no-store',
        });
        if (!res.ok || !res.body) {
          let message = `${res.status} ${res.statusText}`;
          try {
            message = ((await res.json()) as { error?: string }).error ?? message;
          } catch {
            /* keep the status line */
          }
          const err = new ApiError(res.status, message);
          if (res.status === 401 || res.status === 403 || res.status === 400) return h.fatal(err);
          throw err;
        }
        h.status?.(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buf + value);
          buf = parsed.rest;
          for (const m of parsed.messages) {
            const data = JSON.parse(m.data);
            if (m.event === 'hello') {
              if (last === undefined) last = data.seq;
              h.hello(data as Hello);
            } else if (m.event === 'change') {
              last = Number(m.id ?? data.seq);
              h.change(data.events as FeedEvent[], data.seq);
            } else if (m.event === 'error') {
              const err = new ApiError(data.status, data.error);
              if (data.status === 401 || data.status === 403) return h.fatal(err);
            }
          }
        }
      } catch (err) {
        if (closed) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return h.fatal(err);
      }
      if (closed) return;
      h.status?.(false);
      // Reconnect after a pause, resuming after the last event seen.
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => {
    closed = true;
    ctl.abort();
  };
}
