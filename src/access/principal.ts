/** Who is making a request, as resolved from a token. Anonymous requests have no principal (null). */
export type Principal = {
  userId: number;
  name: string;
  email: string;
  isAdmin: boolean;
  emailVerified: boolean;
  tokenId: number;
  tokenReadonly: boolean;
};
