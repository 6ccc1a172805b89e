// Errors a client may see. Services throw these; the HTTP layer turns them into npm-style {"error": "..."} bodies
// with the status given here. Anything else that escapes is a bug and is answered with a generic 500.
export class ClientError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export const badRequest = (msg: string) => new ClientError(400, msg);
export const unauthorized = (msg = 'authentication required: run `npm login` or add a token to your .npmrc') =>
  new ClientError(401, msg);
export const forbidden = (msg: string) => new ClientError(403, msg);
export const notFound = (msg = 'Not found') => new ClientError(404, msg);
export const conflict = (msg: string) => new ClientError(409, msg);
export const tooLarge = (msg: string) => new ClientError(413, msg);
