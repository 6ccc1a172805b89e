// Where to go after signing in. `next` comes from the URL, so anyone can craft it: only a path on this site is
// followed, never another origin (an open redirect would let a phishing link borrow this site's name).

const PLACEHOLDER_ORIGIN = 'http://bulwark.invalid';

// A path a browser reads as a path on this site: one slash, then anything but a second slash or a backslash.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
const SAME_SITE_PATH = /^\/(?![/\\])[^\\\u0000-\u001f\u007f]*$/;

/**
 * The same-site path to return to, or null. Refuses "//host", "/\host", schemes, control characters and anything
 * long. The check applies to the value returned, after URL normalisation: "/.//evil.example" normalises to
 * "//evil.example", which a browser follows to another origin.
 */
export function safeNext(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048 || !SAME_SITE_PATH.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, PLACEHOLDER_ORIGIN);
  } catch {
    return null;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return null;
  const next = url.pathname + url.search + url.hash;
  return SAME_SITE_PATH.test(next) ? next : null;
}
