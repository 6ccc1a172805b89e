import type { TokenScope } from '../tokens/scope.ts';

/** Who is making a request, as resolved from a token. Anonymous requests have no principal (null). */
export type Principal = {
  userId: number;
  name: string;
  email: string;
  isAdmin: boolean;
  emailVerified: boolean;
  tokenId: number;
  tokenReadonly: boolean;
  /**
   * What the token is limited to (tokens/scope.ts); null or absent for principals without a scoped token (a web
   * session, an `npm login` session, tokens made before scopes existed), which only tokenReadonly restricts.
   */
  tokenScope?: TokenScope | null;
  /** registry moderator; filled in by the gate before it decides (token and session lookups need not know it). */
  isModerator?: boolean;
};
