// Errors a client may see. Services throw these; the HTTP layer turns them into npm-style bodies,
// {"error": "<sentence for a person>", "code": "E_…"}, with the status the registry gives the code. The code is
// the stable part: scripts and tests match on it, while the sentence may be reworded. docs/errors.md lists every
// code and is checked against this registry by a test. Anything else that escapes is a bug: a generic 500.

type Entry = { readonly status: number; readonly means: string };

export const ERRORS = {
  // Requests in general
  E_INVALID_REQUEST: { status: 400, means: 'the body, parameters or query do not have the shape the route takes' },
  E_NOT_FOUND: {
    status: 404,
    means: 'no such package, version, user, page or item, or one the caller may not see (both answer alike)',
  },
  E_BODY_TOO_LARGE: { status: 413, means: 'the request body is larger than the route accepts' },
  E_UNSUPPORTED_MEDIA_TYPE: { status: 415, means: 'the route does not take a body of this content type' },
  E_UPLOADS_PER_ACCOUNT: { status: 429, means: 'this account has as many large uploads in progress as it may' },
  E_UPLOADS_BUSY: { status: 503, means: 'the server is receiving as many large uploads as it takes at once' },
  E_RATE_LIMITED: { status: 429, means: 'too many failed attempts: wait for the time Retry-After gives' },
  E_USAGE: { status: 400, means: 'a required argument, reason or confirmation is missing or wrong' },
  E_NOT_SUPPORTED: {
    status: 405,
    means: 'an npmjs.com feature this registry does not offer (the message says what to do)',
  },
  E_INTERNAL: { status: 500, means: 'a defect: the server logs the request id the message gives' },

  // Authentication (accounts, tokens, the gate)
  E_AUTH_REQUIRED: { status: 401, means: 'the request needs a signed-in account or a token' },
  E_TOKEN_INVALID: { status: 401, means: 'the token sent is malformed, unknown, expired or revoked' },
  E_TOKEN_ADDRESS: { status: 401, means: "the token's CIDR allow-list does not include the caller's address" },
  E_BAD_CREDENTIALS: { status: 401, means: 'wrong username, email or password' },
  E_OTP_REQUIRED: { status: 401, means: 'the change needs a one-time password (npm: --otp)' },
  E_OTP_INVALID: { status: 401, means: 'the one-time password is wrong, expired or already used' },
  E_ACCOUNT_DISABLED: { status: 403, means: 'the account was disabled by an administrator' },
  E_EMAIL_UNVERIFIED: { status: 403, means: "the account's email address is not verified yet" },
  E_SIGNUP_CLOSED: { status: 403, means: 'this registry does not let people create their own accounts' },
  E_CSRF: { status: 403, means: 'a web form was sent without its anti-forgery token, or from another site' },

  // Permissions (access/decide.ts and token scopes)
  E_FORBIDDEN: { status: 403, means: 'the caller is not allowed to do this (the message says whose right it is)' },
  E_TOKEN_READONLY: { status: 403, means: 'a read-only token was used for a change' },
  E_TOKEN_SCOPE: { status: 403, means: "the token's scope does not reach this package, org or action" },

  // Accounts
  E_USERNAME_TAKEN: { status: 409, means: 'another account has this username' },
  E_ACCOUNT_INVALID: {
    status: 400,
    means:
      'an account change that cannot be made as asked: a bad username, email or password, nothing to change, one’s own account',
  },
  E_ACCOUNT_STATE: {
    status: 409,
    means: 'the account is not in a state that allows this (deleted, a recovery pending)',
  },
  E_ALREADY_DONE: { status: 409, means: 'the change is already in effect (already disabled, already the only owner)' },
  E_LINK_INVALID: { status: 400, means: 'an emailed link is unknown, used, expired or for another address' },
  E_TFA_STATE: { status: 400, means: 'two-factor authentication is not in a state that allows this' },
  E_TFA_CODE: { status: 400, means: 'the code given while setting up two-factor authentication is wrong' },

  // Tokens
  E_TOKEN_REQUEST: { status: 400, means: 'a token request is malformed: scope, permission, CIDR or expiry' },

  // Names
  E_NAME_INVALID: { status: 400, means: 'not a valid npm package name, scope or pattern' },
  E_NAME_RESERVED: { status: 403, means: 'the name is reserved for an organisation' },
  E_NAME_CONFUSABLE: { status: 403, means: 'the name is too close to an existing popular or hosted package' },
  E_NAME_TAKEN: { status: 403, means: 'the name or scope belongs to someone else' },
  E_NAME_HELD: { status: 403, means: "an unpublished package's name is held for its previous maintainers" },

  // Packages
  E_PUBLISH_INVALID: { status: 400, means: 'the publish document is malformed (npm publish never sends this)' },
  E_TARBALL_INVALID: { status: 400, means: 'the tarball is refused: something npm pack never writes, or ambiguous' },
  E_TARBALL_MISMATCH: { status: 400, means: "the tarball's package.json or integrity disagrees with the document" },
  E_TARBALL_TOO_LARGE: { status: 413, means: 'the tarball, or what it unpacks to, is larger than allowed' },
  E_VERSION_EXISTS: { status: 403, means: 'the version was published before (even if unpublished since)' },
  E_VERSION_HELD: { status: 403, means: 'the version is held for security review: not installable, not unpublishable' },
  E_PACKAGE_CHANGED: { status: 409, means: 'the package changed while the request was made: run the command again' },
  E_DIST_TAG_INVALID: { status: 400, means: 'a dist-tag change that cannot be made (bad version, removing latest)' },
  E_LIFECYCLE_INVALID: { status: 400, means: 'a deprecate or unpublish request that cannot be applied' },
  E_UNPUBLISH_REFUSED: { status: 403, means: 'the unpublish policy refuses this version (age, dependents, hold)' },
  E_DOWNLOADS_PERIOD: { status: 400, means: 'a download-count period that is malformed or too long' },
  E_MAINTAINERS_INVALID: { status: 400, means: 'a maintainer or access change that cannot be made' },

  // Organisations and teams
  E_ORG_INVALID: { status: 400, means: 'an org, team, role or permission request that is malformed' },
  E_ORG_EXISTS: { status: 409, means: 'the organisation or team already exists' },

  // Safety: reports, moderation, advisories
  E_REPORT_INVALID: { status: 400, means: 'a report or advisory that is incomplete or too long' },
  E_MODERATION_STATE: { status: 409, means: 'the moderation item or version is not in a state that allows this' },

  // The upstream proxy (docs/upstream.md)
  E_UPSTREAM_UNAVAILABLE: {
    status: 502,
    means: 'the package is not cached and its upstream registry failed or refused',
  },
  E_UPSTREAM_TIMEOUT: {
    status: 504,
    means: 'the package is not cached and its upstream registry did not answer in time',
  },
  E_UPSTREAM_INTEGRITY: {
    status: 502,
    means: "the upstream's tarball does not match the integrity its packument gives",
  },
  E_UPSTREAM_TOO_NEW: {
    status: 403,
    means: 'the version is younger than the minimum release age; the message says when it is not',
  },
  E_UPSTREAM_REFUSED: { status: 403, means: 'the proxied version was found malicious by the scan or an advisory' },
  E_UPSTREAM_SIGNATURE: {
    status: 403,
    means: "the proxied version's upstream registry signature does not verify with the upstream's keys",
  },
  E_UPSTREAM_UNSIGNED: {
    status: 403,
    means: 'the upstream publishes no signing keys and the operator has not allowed it to serve unsigned versions',
  },
  E_UPSTREAM_SCAN: { status: 503, means: 'the proxied tarball could not be scanned for malware yet: try again' },

  // The transparency log
  E_LOG_NOT_STARTED: { status: 404, means: 'the transparency log has no signed checkpoint yet' },
  E_LOG_RANGE: { status: 400, means: 'a tree size, index or proof range outside the signed tree' },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof ERRORS;

export class ClientError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.status = ERRORS[code].status;
    this.headers = headers;
  }
}

/** The one way to refuse: a code from the registry and a sentence that says what to do. */
export const fail = (code: ErrorCode, message: string, headers?: Record<string, string>) =>
  new ClientError(code, message, headers);

export const AUTH_REQUIRED = 'authentication required: run `npm login` or add a token to your .npmrc';
export const unauthorized = (msg = AUTH_REQUIRED) => new ClientError('E_AUTH_REQUIRED', msg);
export const notFound = (msg = 'Not found') => new ClientError('E_NOT_FOUND', msg);
