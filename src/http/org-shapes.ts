// What npm's org, team and access routes share: the shapes of their URLs and bodies, and how npm writes names in them.
import type { Actor } from '../access/orgs.ts';
import type { Principal } from '../access/principal.ts';
import { NAME_MAX, Str, Type } from './schemas.ts';

export const actorOf = (p: Principal): Actor => ({ id: p.userId, name: p.name });
/** npm strips a leading "@" from org and user names; be as lenient for clients that do not. */
export const bare = (s: string) => s.replace(/^[@~]/, '');

/** A name given in a body (a user, a team, a package): present and not empty. */
export const Named = Type.String({ minLength: 1, maxLength: NAME_MAX });

export const OrgParams = Type.Object({ org: Str(NAME_MAX) });
export const TeamParams = Type.Object({ org: Str(NAME_MAX), team: Str(NAME_MAX) });
