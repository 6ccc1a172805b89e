// Registries (and parallel test runs) may share one PostgreSQL database, each in its own schema. Migrating one must
// not depend on what the others do meanwhile: here other tenants create and drop schemas as fast as they can while
// registries start in fresh schemas, and every start must succeed on its first attempt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/db.ts';
import { DB_KINDS, PG_URL, testDatabase } from '../helpers/db.ts';

describe(
  'PostgreSQL shared with other tenants',
  { skip: !DB_KINDS.includes('postgres') && 'PostgreSQL is off for this run' },
  () => {
    it('migrates a new schema while other schemas are created and dropped around it', async () => {
      let stop = false;
      let churned = 0;
      const churn = async (n: number) => {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        try {
          for (let i = 0; !stop; i++) {
            const schema = `churn_${process.pid}_${n}_${i}`;
            await client.query(
              `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.a (id int, v text); CREATE TABLE ${schema}.b (id serial, w text)`,
            );
            await client.query(`DROP SCHEMA ${schema} CASCADE`);
            churned++;
          }
        } finally {
          await client.end();
        }
      };
      const churners = [churn(0), churn(1), churn(2)];
      try {
        for (let i = 0; i < 6; i++) {
          const t = await testDatabase('postgres');
          try {
            const store = await openStore({ dataDir: t.dataDir, database: t.database, poolSize: 2 });
            await store.close();
          } finally {
            await t.cleanup();
          }
        }
      } finally {
        stop = true;
        await Promise.all(churners);
      }
      assert.ok(churned > 20, `other tenants dropped ${churned} schemas meanwhile`);
    });
  },
);
