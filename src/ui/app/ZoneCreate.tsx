/** Create a zone (admin): name, primary NS, admin email; the API's message shown by the field it names. */
import { useState } from 'preact/hooks';
import { api, ApiError, withoutField } from './api.ts';
import { FieldError } from './FieldError.tsx';

export function ZoneCreate(p: { token: string; onCreated(name: string): void }) {
  const [name, setName] = useState('');
  const [ns, setNs] = useState('');
  const [email, setEmail] = useState('');
  const [err, setErr] = useState<ApiError | undefined>();

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setErr(undefined);
    try {
      await api(p.token, 'POST', '/v1/zones', { body: { name, primary_ns: ns || `ns1.${name}`, admin_email: email || `hostmaster@${name}` } });
      p.onCreated(name);
      setName('');
      setNs('');
      setEmail('');
    } catch (x) {
      setErr(x instanceof ApiError ? x : new ApiError(0, String(x)));
    }
  };
  const f = (field: string): string | undefined => (err?.field === field ? withoutField(err.message) : undefined);

  return (
    <details class="card">
      <summary>Create a zone</summary>
      <form class="row-form" onSubmit={submit}>
        <div>
          <label for="zc-name">Zone name</label>
          <input id="zc-name" required value={name} aria-invalid={!!f('name')} aria-describedby="zc-name-err" onInput={(e) => setName(e.currentTarget.value)} />
          <FieldError id="zc-name-err" message={f('name')} />
        </div>
        <div>
          <label for="zc-ns">Primary NS</label>
          <input id="zc-ns" placeholder="ns1.<zone>" value={ns} aria-describedby="zc-ns-err" onInput={(e) => setNs(e.currentTarget.value)} />
          <FieldError id="zc-ns-err" message={f('primary_ns')} />
        </div>
        <div>
          <label for="zc-email">Admin email</label>
          <input id="zc-email" placeholder="hostmaster@<zone>" value={email} aria-describedby="zc-email-err" onInput={(e) => setEmail(e.currentTarget.value)} />
          <FieldError id="zc-email-err" message={f('admin_email')} />
        </div>
        <button type="submit" class="primary">Create zone</button>
      </form>
      {err && !err.field && <p class="error" role="alert">{err.message}</p>}
    </details>
  );
}
