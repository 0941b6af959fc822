import { timingSafeEqual, randomBytes } from 'node:crypto';

/** A fresh token for one launch of the server: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The Host header must name this server on the loopback interface (stops DNS rebinding). */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return allowedOrigins(port).some((o) => o === `http://${host.toLowerCase()}`);
}

/** Requests from a page must come from the server's own page; requests without Origin (same-origin GETs, tools) are let through to the token check. */
export function originAllowed(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  return allowedOrigins(port).includes(origin.toLowerCase());
}

export function allowedOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`];
}

/** Constant-time comparison of a presented token with the launch's token. */
export function tokenMatches(presented: string | null | undefined, token: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an API request: `Authorization: Bearer …`, `X-Longread-Token`, or, where `queryAllowed` (URLs handed to pdf.js, WebSockets), `?token=`. */
export function presentedToken(headers: Record<string, string | string[] | undefined>, url: URL, queryAllowed: boolean): string | null {
  const auth = headers['authorization'];
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = headers['x-longread-token'];
  if (typeof header === 'string') return header;
  return queryAllowed ? url.searchParams.get('token') : null;
}
