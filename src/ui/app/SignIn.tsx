/**
 * Sign-in: MCIAS username and password through POST /v1/auth/login; in `mcns server --dev` (no
 * MCIAS) the admin token printed at start-up signs in instead. Errors are announced (role=alert).
 */
import { useState } from 'preact/hooks';
import { api, ApiError } from './api.ts';

export function SignIn(p: { problem?: string; onToken(token: string): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [devToken, setDevToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const login = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api<{ token: string }>(undefined, 'POST', '/v1/auth/login', { body: { username, password, ...(totp ? { totp_code: totp } : {}) } });
      setPassword('');
      p.onToken(r.token);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const useToken = (e: Event): void => {
    e.preventDefault();
    if (devToken.trim()) p.onToken(devToken.trim());
  };

  const shown = error ?? p.problem;
  return (
    <section class="card signin" aria-labelledby="signin-title">
      <h1 id="signin-title">MCNS console</h1>
      <form onSubmit={login}>
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <label for="totp">One-time code <span class="hint">(if your account has one)</span></label>
        <input id="totp" name="totp" inputMode="numeric" autocomplete="one-time-code" value={totp} onInput={(e) => setTotp(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
      </form>
      {shown && <p class="error" role="alert">{shown}</p>}
      <details class="devtoken">
        <summary>Development server: sign in with the admin token</summary>
        <form onSubmit={useToken}>
          <label for="admin-token">Admin token</label>
          <input id="admin-token" type="password" autocomplete="off" value={devToken} onInput={(e) => setDevToken(e.currentTarget.value)} />
          <p class="hint">Printed by <code>mcns server --dev</code> (also in .mcns-dev/admin.token).</p>
          <button type="submit">Use token</button>
        </form>
      </details>
    </section>
  );
}
