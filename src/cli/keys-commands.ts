// `bulwark keys list` and `bulwark keys rotate`: the registry signing keys behind dist.signatures and
// /-/npm/v1/keys, managed against the registry's own database (same --data-dir, --database, --config as serve).
import { RotationError, listSigningKeys, rotateSigningKey } from '../trust/signing-keys.ts';
import { STORE_OPTIONS, withServices, type Command } from './command.ts';

const DEFAULT_GRACE_SECONDS = 60;

const when = (ms: number) => new Date(ms).toISOString();

export const KEYS_COMMANDS: Record<string, Command> = {
  'keys list': {
    usage: 'bulwark keys list [storage options]',
    summary: 'list the registry signing keys (served at /-/npm/v1/keys)',
    help: `Lists every registry signing key, oldest first: key id, created, and when it expired (npm accepts its signatures on
versions published before that moment) or "signing" for the key that signs new versions.

Options:
  --data-dir, --database, --config   which registry, as for serve`,
    options: STORE_OPTIONS,
    async run({ values }) {
      return withServices(values, async ({ store }) => {
        const keys = await listSigningKeys(store.db);
        if (!keys.length) console.log('no signing key yet: the registry makes one when it first starts');
        for (const k of keys)
          console.log(
            [
              k.keyid,
              `created ${when(k.createdAt)}`,
              k.expiresAt === null ? 'signing' : `expires ${when(k.expiresAt)}`,
            ].join('\t'),
          );
        return 0;
      });
    },
  },
  'keys rotate': {
    usage: 'bulwark keys rotate [--grace-seconds N] [--replace-unreadable] [storage options]',
    summary: 'make a new registry signing key; the old one expires',
    help: `Makes a new ECDSA P-256 signing key, which signs every version published from now on, and gives the previous key an
expiry N seconds from now. The old key stays published at /-/npm/v1/keys, so npm keeps accepting its signatures on
versions published before the expiry; a signature by it on a version published later fails npm's check. The grace
covers a publish already under way on another node; use --grace-seconds 0 when the old key may be compromised.
Existing signatures are not remade.

Options:
  --grace-seconds <n>      how long the old key stays valid for new publishes (default ${DEFAULT_GRACE_SECONDS})
  --replace-unreadable     rotate even though this instance key cannot open the current key (the key it was sealed
                           with is lost); use --grace-seconds 0 with it
  --data-dir, --database, --config   which registry, as for serve (the instance key must be the servers')`,
    options: { ...STORE_OPTIONS, 'grace-seconds': { type: 'string' }, 'replace-unreadable': { type: 'boolean' } },
    async run({ values }) {
      const grace = values['grace-seconds'] ?? String(DEFAULT_GRACE_SECONDS);
      if (typeof grace !== 'string' || !/^\d{1,9}$/.test(grace)) {
        console.error('bulwark keys rotate: --grace-seconds must be a whole number of seconds');
        return 2;
      }
      return withServices(values, async ({ store, secretKey }) => {
        try {
          const { created, expired } = await rotateSigningKey(store.db, secretKey, Number(grace) * 1000, Date.now(), {
            unreadable: values['replace-unreadable'] === true,
          });
          console.log(`new signing key ${created}`);
          for (const k of expired) console.log(`${k.keyid} expires ${when(k.expiresAt)}`);
          return 0;
        } catch (err) {
          if (!(err instanceof RotationError)) throw err;
          console.error(`bulwark keys rotate: ${err.message}`);
          return 1;
        }
      });
    },
  },
};
