// The account page's query, which its sections read: the notice of a change just made (?changed=, ?two-factor=) and
// the security history's page (?history=). Declared once, checked by the account page's route.
import { Str, Type, type Static } from '../http/schemas.ts';

export const AccountQuery = Type.Object({
  changed: Type.Optional(Str(64)),
  'two-factor': Type.Optional(Str(64)),
  history: Type.Optional(Type.String({ pattern: '^[0-9]{0,15}$', description: 'a whole number' })),
});
export type AccountQuery = Static<typeof AccountQuery>;
