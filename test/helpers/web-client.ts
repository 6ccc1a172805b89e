// A minimal browser-like HTTP client for the web UI's protocol tests: it keeps cookies, does not follow redirects
// (tests look at them), posts urlencoded forms and reads the CSRF token out of the page it got. The browser tests
// use a real Chromium; this is for the negative cases a browser would never send.
export type WebResponse = {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  setCookies: string[];
};

export class WebClient {
  readonly base: string;
  readonly cookies = new Map<string, string>();
  userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';

  constructor(base: string) {
    this.base = base;
  }

  async request(
    method: string,
    path: string,
    opts: { form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<WebResponse> {
    const headers: Record<string, string> = {
      accept: 'text/html,application/xhtml+xml',
      'user-agent': this.userAgent,
      ...opts.headers,
    };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair!.slice(eq + 1).trim());
    }
    return {
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      location: res.headers.get('location'),
      setCookies,
    };
  }

  get(path: string, headers?: Record<string, string>): Promise<WebResponse> {
    return this.request('GET', path, { ...(headers ? { headers } : {}) });
  }

  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<WebResponse> {
    return this.request('POST', path, { form, ...(headers ? { headers } : {}) });
  }

  /** Loads a page and returns the CSRF token of its forms. */
  async csrf(path: string): Promise<string> {
    return csrfIn((await this.get(path)).text);
  }

  /** Signs in through the form; returns the final response (a 303 on success). */
  async signIn(username: string, password: string, next?: string): Promise<WebResponse> {
    const token = await this.csrf('/-/web/signin');
    return this.post('/-/web/signin', { _csrf: token, username, password, ...(next !== undefined ? { next } : {}) });
  }
}

export function csrfIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no CSRF field in the page:\n${html.slice(0, 2000)}`);
  return m[1]!;
}
