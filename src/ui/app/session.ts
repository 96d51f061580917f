/**
 * The session token lives in sessionStorage only (gone when the tab closes; never a cookie, never in
 * a URL). Nothing else about the user is stored: the identity comes from the feed's hello.
 */
const KEY = 'mcns.token';

export function loadToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage refused (private mode): the token stays in memory only */
  }
}
