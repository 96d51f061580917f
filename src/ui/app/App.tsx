/**
 * The console shell: sign-in, then one live feed for the session (its hello says who we are and what
 * we may do), the header with sign-out, and the page the hash route names.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError } from './api.ts';
import { openFeed, type Hello } from './feed.ts';
import { useRoute } from './route.ts';
import { loadToken, saveToken } from './session.ts';
import { SignIn } from './SignIn.tsx';
import type { LiveChange, Session } from './types.ts';
import { ZonePage } from './ZonePage.tsx';
import { Zones } from './Zones.tsx';

/** Who we are before the hello arrives: nobody who may write. */
const PENDING: Hello = { username: '', account_type: 'human', roles: [], may: { zone_admin: false, records: 'none' }, seq: 0 };

export function App() {
  const [token, setToken] = useState<string | undefined>(loadToken);
  const [session, setSession] = useState<Session | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [live, setLive] = useState<LiveChange | undefined>();
  const [connected, setConnected] = useState(false);
  const route = useRoute();

  useEffect(() => {
    if (!token) return;
    return openFeed(token, {
      hello: (me) => {
        setSession({ token, me });
      },
      change: (events, seq) => setLive({ events, seq }),
      fatal: (err: ApiError) => {
        saveToken(undefined);
        setToken(undefined);
        setSession(undefined);
        setProblem(err.status === 401 ? `Signed out: ${err.message}` : err.message);
      },
      status: setConnected,
    });
  }, [token]);

  const signOut = async (): Promise<void> => {
    const t = token;
    saveToken(undefined);
    setToken(undefined);
    setSession(undefined);
    setProblem(undefined);
    if (t) await api(t, 'POST', '/v1/auth/logout').catch(() => undefined);
  };

  if (!token) {
    return (
      <main class="signin-page">
        <SignIn
          problem={problem}
          onToken={(t) => {
            setProblem(undefined);
            // Kept for reloads of this tab at once; a token the feed refuses is dropped by `fatal`.
            saveToken(t);
            setToken(t);
          }}
        />
      </main>
    );
  }

  // Until the feed's hello names the caller, the page shows data read-only (first paint does not
  // wait for it); a refused token ends the session through `fatal`.
  const current: Session = session?.token === token ? session : { token, me: PENDING };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">MCNS</a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page === 'zones' ? 'page' : undefined}>Zones</a>
        </nav>
        <span class={connected ? 'live on' : 'live'} title={connected ? 'live updates on' : 'live updates reconnecting'}>
          {connected ? 'live' : 'offline'}
        </span>
        <span class="who">
          {current.me === PENDING ? '…' : <>{current.me.username} <span class="role">({current.me.roles.join(', ') || current.me.account_type})</span></>}
        </span>
        <button type="button" onClick={signOut}>Sign out</button>
      </header>
      <main>
        {route.page === 'zones' ? <Zones session={current} live={live} /> : <ZonePage key={route.zone} session={current} zone={route.zone} tab={route.tab} live={live} />}
      </main>
    </>
  );
}
