// Requests to an upstream registry, each bounded in time and size: a slow or silent upstream costs a request at most
// the timeout, never a hang, and an endless body is cut off. Failures come back as UpstreamFailure, saying whether
// the upstream timed out or was otherwise unusable, so the caller can serve what it has cached or answer 504/502.
// A redirect is followed only while it stays on the origin asked: an upstream (or an open redirect on it) cannot send
// this registry to an address inside its network (127.0.0.1, 169.254.169.254) and have the answer served as a package.

export type FetchFn = typeof fetch;

export class UpstreamFailure extends Error {
  readonly kind: 'timeout' | 'unavailable';
  constructor(kind: 'timeout' | 'unavailable', message: string) {
    super(message);
    this.kind = kind;
  }
}

export type UpstreamResponse = { status: 200 | 304 | 404; headers: Headers; body: Buffer };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * GETs url. 200, 304 and 404 are answers; anything else (a 5xx, a 429, a refused connection, a body larger than
 * maxBytes, no complete answer within timeoutMs) throws UpstreamFailure.
 */
export async function upstreamGet(
  url: string,
  opts: { timeoutMs: number; maxBytes: number; headers?: Record<string, string>; fetch?: FetchFn },
): Promise<UpstreamResponse> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const asked = new URL(url);
  const where = asked.host;
  try {
    let target = asked;
    let res: Response;
    for (let hops = 0; ; hops++) {
      res = await (opts.fetch ?? fetch)(target.href, {
        headers: { 'user-agent': 'bulwark (npm registry proxy)', ...opts.headers },
        signal,
        redirect: 'manual',
      });
      if (!REDIRECTS.has(res.status)) break;
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get('location');
      let next: URL | null = null;
      try {
        next = location ? new URL(location, target) : null;
      } catch {
        next = null;
      }
      if (!next || next.origin !== asked.origin)
        throw new UpstreamFailure(
          'unavailable',
          `the upstream ${where} redirected to ${next ? next.host : 'an unusable address'}: only redirects within ${where} are followed`,
        );
      if (hops >= MAX_REDIRECTS)
        throw new UpstreamFailure('unavailable', `the upstream ${where} redirected more than ${MAX_REDIRECTS} times`);
      target = next;
    }
    if (res.status !== 200 && res.status !== 304 && res.status !== 404) {
      await res.body?.cancel().catch(() => {});
      throw new UpstreamFailure('unavailable', `the upstream ${where} answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > opts.maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new UpstreamFailure(
        'unavailable',
        `the upstream ${where} sent ${declared} bytes, more than ${opts.maxBytes}`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    if (res.body)
      for await (const chunk of res.body) {
        size += chunk.length;
        if (size > opts.maxBytes)
          throw new UpstreamFailure('unavailable', `the upstream ${where} sent more than ${opts.maxBytes} bytes`);
        chunks.push(Buffer.from(chunk));
      }
    return { status: res.status, headers: res.headers, body: Buffer.concat(chunks, size) };
  } catch (err) {
    if (err instanceof UpstreamFailure) throw err;
    if (signal.aborted)
      throw new UpstreamFailure('timeout', `the upstream ${where} did not answer within ${opts.timeoutMs / 1000} s`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new UpstreamFailure(
      'unavailable',
      `the upstream ${where} could not be reached (${cause?.code ?? cause?.message ?? (err as Error).message})`,
    );
  }
}
