// Which packages a principal may read, as a SQL condition on the packages table: public ones, and restricted ones they
// maintain, own the scope of, or reach through a team. The same rule as access/decide.ts canRead, for queries that
// list packages (search, a package's dependents) and so cannot ask decide() one package at a time.
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Principal } from '../access/principal.ts';
import type { Database } from '../store/schema.ts';

export function readableBy(eb: ExpressionBuilder<Database, 'packages'>, p: Principal | null): Expression<SqlBool> {
  if (p?.isAdmin) return sql<SqlBool>`1 = 1`;
  return eb.or([
    eb('packages.access', '=', 'public'),
    ...(p
      ? [
          eb('packages.id', 'in', eb.selectFrom('maintainers').select('package_id').where('user_id', '=', p.userId)),
          // An organisation's scope has no single owner: there, reading comes from maintainership or a team grant.
          eb(
            'packages.scope',
            'in',
            eb
              .selectFrom('scopes')
              .select('name')
              .where('owner_user_id', '=', p.userId)
              .where('name', 'not in', eb.selectFrom('orgs').select('name')),
          ),
          eb(
            'packages.id',
            'in',
            eb
              .selectFrom('team_packages')
              .innerJoin('team_members', 'team_members.team_id', 'team_packages.team_id')
              .select('team_packages.package_id')
              .where('team_members.user_id', '=', p.userId),
          ),
        ]
      : []),
  ]);
}
