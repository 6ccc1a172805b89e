// Cookie parsing and Set-Cookie lines, for the web UI's two cookies (the session and the pre-session CSRF binding).
// Small enough that a dependency would cost more than it saves.
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The cookies of a request. The first occurrence of a name wins; values that are not valid percent-encoding are skipped. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!name || out.has(name)) continue;
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      // A malformed value is treated as absent rather than failing the request.
    }
  }
  return out;
}

export const cookie = (req: FastifyRequest, name: string): string | undefined =>
  parseCookies(req.headers.cookie).get(name);

export type CookieOptions = { maxAgeSeconds: number; secure: boolean };

/**
 * A Set-Cookie line with the attributes every Bulwark cookie has: HttpOnly (no script may read it), SameSite=Lax
 * (not sent on cross-site POSTs), Path=/ and Secure when the request came over https.
 */
export function setCookieLine(name: string, value: string, opts: CookieOptions): string {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Adds a Set-Cookie header without replacing those already set on the reply. */
export function appendSetCookie(reply: FastifyReply, line: string): void {
  const existing = reply.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  reply.header('set-cookie', [...list, line]);
}

/** Secure cookies whenever the client reached us over https: req.protocol honours --trust-proxy (X-Forwarded-Proto). */
export const isHttps = (req: FastifyRequest): boolean => req.protocol === 'https';
