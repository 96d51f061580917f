/**
 * A real HTTPS fake of the MCIAS contract (SPEC 4) on loopback, with its own CA: login, token
 * validation and logout, with counters so tests can prove the validation cache cuts calls, and
 * modes that make it hang or drop connections (MCIAS down) and come back.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { makeTestTls, type TestTls } from './tls.ts';

/** An account the fake knows. */
export interface FakeAccount {
  username: string;
  password?: string;
  totp?: string;
  account_type: 'human' | 'system';
  roles: string[];
  /** Login answers 403 (e.g. the account may not use this service). */
  forbidden?: boolean;
}

/** How the fake behaves: answer, hang without answering, drop connections, or answer 500. */
export type FakeMode = 'up' | 'hang' | 'drop' | 'error';

/** A running fake MCIAS. */
export interface McIasFake {
  url: string;
  tls: TestTls;
  /** Calls of /v1/token/validate (every one, including those in a failing mode). */
  validateCalls: number;
  loginCalls: number;
  logoutCalls: number;
  /** The last login body (to check service_name and tags were forwarded). */
  lastLogin?: Record<string, unknown>;
  mode: FakeMode;
  /** Issue a valid token for an account directly (as if it had logged in). */
  tokenFor(username: string): string;
  addAccount(a: FakeAccount): void;
  close(): Promise<void>;
}

/** The accounts every API test uses: one per role of the SPEC 4 table, and two system accounts. */
export const DEFAULT_ACCOUNTS: FakeAccount[] = [
  { username: 'alice', password: 'alice-pw', account_type: 'human', roles: ['admin'] },
  { username: 'bob', password: 'bob-pw', account_type: 'human', roles: ['user'] },
  { username: 'gus', password: 'gus-pw', account_type: 'human', roles: ['guest'] },
  { username: 'mcp-agent', password: 'agent-pw', account_type: 'system', roles: [] },
  { username: 'mcq', password: 'mcq-pw', account_type: 'system', roles: [] },
  { username: 'totp-user', password: 'pw', totp: '123456', account_type: 'human', roles: ['user'] },
  { username: 'blocked', password: 'pw', account_type: 'human', roles: ['user'], forbidden: true },
];

/** Start the fake on 127.0.0.1 with a fresh CA. */
export async function startMcIasFake(accounts: FakeAccount[] = DEFAULT_ACCOUNTS): Promise<McIasFake> {
  const tls = makeTestTls('localhost');
  const byName = new Map(accounts.map((a) => [a.username, a]));
  const tokens = new Map<string, { username: string; expires: number }>();
  const sockets = new Set<Socket>();
  const issue = (username: string): string => {
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { username, expires: Date.now() + 3600_000 });
    return token;
  };

  const fake: McIasFake = {
    url: '',
    tls,
    validateCalls: 0,
    loginCalls: 0,
    logoutCalls: 0,
    mode: 'up',
    tokenFor: (username) => {
      if (!byName.has(username)) throw new Error(`fake MCIAS: no account ${username}`);
      return issue(username);
    },
    addAccount: (a) => void byName.set(a.username, a),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/token/validate') fake.validateCalls++;
      if (req.url === '/v1/auth/login') fake.loginCalls++;
      if (req.url === '/v1/auth/logout') fake.logoutCalls++;
      if (fake.mode === 'hang') return; // never answer: the client's timeout must fire
      if (fake.mode === 'drop') return void req.socket.destroy();
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (fake.mode === 'error') return send(500, { error: 'internal error' });
      let body: Record<string, unknown>;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        return send(400, { error: 'bad json' });
      }
      if (req.method !== 'POST') return send(405, { error: 'method not allowed' });
      switch (req.url) {
        case '/v1/auth/login': {
          fake.lastLogin = body;
          const a = byName.get(String(body.username));
          if (!a || a.password !== body.password) return send(401, { error: 'invalid credentials' });
          if (a.totp && a.totp !== body.totp_code) return send(401, { error: 'invalid totp code' });
          if (a.forbidden) return send(403, { error: 'account may not use this service' });
          const token = issue(a.username);
          return send(200, { token, expires_at: new Date(tokens.get(token)!.expires).toISOString() });
        }
        case '/v1/token/validate': {
          const t = tokens.get(String(body.token));
          const a = t && byName.get(t.username);
          if (!t || !a || t.expires < Date.now()) return send(200, { valid: false });
          return send(200, {
            valid: true,
            sub: `uuid-${a.username}`,
            username: a.username,
            account_type: a.account_type,
            roles: a.roles,
            expires_at: new Date(t.expires).toISOString(),
          });
        }
        case '/v1/auth/logout': {
          const auth = req.headers.authorization ?? '';
          const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
          if (!tokens.delete(token)) return send(401, { error: 'invalid token' });
          return send(200, { status: 'ok' });
        }
        default:
          return send(404, { error: 'not found' });
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
