// Where to go after signing in. `next` comes from the URL, so anyone can craft it: only a path on this site is
// followed, never another origin (an open redirect would let a phishing link borrow this site's name).

const PLACEHOLDER_ORIGIN = 'http://bulwark.invalid';

/** The same-site path to return to, or null. Refuses "//host", "/\host", schemes, control characters and anything long. */
export function safeNext(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return null;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
  if (!raw.startsWith('/') || raw[1] === '/' || raw[1] === '\\' || /[\\\u0000-\u001f\u007f]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, PLACEHOLDER_ORIGIN);
  } catch {
    return null;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return null;
  return url.pathname + url.search + url.hash;
}
