// The daemon's bearer token: typed once in the header, kept for this tab only
// (sessionStorage), sent as a header by api.ts — never put in a URL.

const KEY = "exec-console-token";

export function getToken(): string {
  return sessionStorage.getItem(KEY) ?? "";
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}
