// A sequencer in its own process, so a test can kill it with SIGKILL in the middle of a batch. Arguments: the data
// directory, the database URL ('' for SQLite), the batch size. It prints "running" once, then integrates until killed.
import { loadLogKey, logDb } from '../../src/trust/tlog/store.ts';
import { Sequencer } from '../../src/trust/tlog/sequencer.ts';
import { openStore } from '../../src/store/db.ts';

const [dataDir, database, batch] = process.argv.slice(2);
// The same key as test/helpers/registry.ts TEST_SECRET_KEY, without loading the whole app.
const TEST_SECRET_KEY = Buffer.alloc(32, 7);
const store = await openStore({ dataDir: dataDir!, database: database || null, poolSize: 2 });
const key = await loadLogKey(logDb(store.db), TEST_SECRET_KEY, 'registry.test', Date.now);
const sequencer = new Sequencer({ db: store.db, dialect: store.dialect, key, batch: Number(batch) });
process.stdout.write('running\n');
for (;;) await sequencer.runOnce();
