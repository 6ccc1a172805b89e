// Requests to an upstream registry, each bounded in time and size: a slow or silent upstream costs a request at most
// the timeout, never a hang, and an endless body is cut off. Failures come back as UpstreamFailure, saying whether
// the upstream timed out or was otherwise unusable, so the caller can serve what it has cached or answer 504/502.

export type FetchFn = typeof fetch;

export class UpstreamFailure extends Error {
  readonly kind: 'timeout' | 'unavailable';
  constructor(kind: 'timeout' | 'unavailable', message: string) {
    super(message);
    this.kind = kind;
  }
}

export type UpstreamResponse = { status: 200 | 304 | 404; headers: Headers; body: Buffer };

/**
 * GETs url. 200, 304 and 404 are answers; anything else (a 5xx, a 429, a refused connection, a body larger than
 * maxBytes, no complete answer within timeoutMs) throws UpstreamFailure.
 */
export async function upstreamGet(
  url: string,
  opts: { timeoutMs: number; maxBytes: number; headers?: Record<string, string>; fetch?: FetchFn },
): Promise<UpstreamResponse> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const where = new URL(url).host;
  try {
    const res = await (opts.fetch ?? fetch)(url, {
      headers: { 'user-agent': 'bulwark (npm registry proxy)', ...opts.headers },
      signal,
      redirect: 'follow',
    });
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
