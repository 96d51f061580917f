/**
 * The page's only way to the server: the public REST API with the bearer token in the Authorization
 * header (never in a URL, never a cookie). Errors keep the API's message and the field it names.
 */

/** An API error: HTTP status, the server's message, and the field it names ("value", "changes.1.ttl"). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

/** The field an API message starts with ("value: not an IPv4 address" -> "value"). */
export function fieldOf(message: string): string | undefined {
  return /^([A-Za-z_][\w.-]*): /.exec(message)?.[1];
}

/** The message without its field prefix. */
export function withoutField(message: string): string {
  const f = fieldOf(message);
  return f ? message.slice(f.length + 2) : message;
}

export interface RequestOptions {
  body?: unknown;
  ifMatch?: number;
  /** Read the answer as text (zone files). */
  text?: boolean;
  signal?: AbortSignal;
}

/** Call the REST API as the signed-in user. */
export async function api<T = any>(token: string | undefined, method: string, path: string, o: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.ifMatch !== undefined) headers['if-match'] = String(o.ifMatch);
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: o.signal, credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `cannot reach the server: ${(err as Error).message}`);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const b = (await res.json()) as { error?: string };
      if (b.error) message = b.error;
    } catch {
      /* not JSON: keep the status line */
    }
    if (res.status === 412) message = 'The zone changed since this page loaded it: reload and try again.';
    throw new ApiError(res.status, message, fieldOf(message));
  }
  return (o.text ? await res.text() : await res.json()) as T;
}

/** A zone name in a path. */
export const z = (zone: string): string => encodeURIComponent(zone);
