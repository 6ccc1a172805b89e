// `bulwark serve`: runs the registry until SIGINT or SIGTERM, with the services app.ts builds.
import pino from 'pino';
import { StartupError, settingsHelp } from '../config.ts';
import { VERSION, settingsOf, type Command } from './command.ts';

export const SERVE_COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'bulwark serve [options]',
    summary: 'run the registry',
    help: `Runs the registry. Settings come from options, then environment variables, then the config file, then defaults.

Options:
${settingsHelp()}
  --config <file>          JSON config file (env BULWARK_CONFIG): an object whose keys are the option names above
                           ("data-dir"), their camelCase form ("dataDir") or their environment variables

Secrets at rest are encrypted with BULWARK_SECRET_KEY (at least 32 characters), or with a key generated into the data
directory on first start: back that file up.`,
    async run({ values }) {
      const settings = settingsOf(values);
      // The HTTP application is most of what the CLI could load; the one-shot commands (scan, names check…) never
      // need it, and load in a third of the time without it.
      const { openServices, startRegistry } = await import('../app.ts');
      const logger = pino({
        level: settings.logLevel,
        base: { service: 'bulwark' },
        redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["npm-otp"]'],
      });
      // A port another process holds is found before anything is opened or written.
      await checkPortFree(settings.host, settings.port);
      const registry = await startRegistry(await openServices(settings, { logger }));
      logger.info(
        { url: registry.url, database: registry.store.dialect, dataDir: settings.dataDir },
        `Bulwark ${VERSION} listening on ${registry.url}`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await registry.close();
      return 0;
    },
  },
};

/** Refuses a port that is taken, or that this user may not listen on, naming the setting. */
async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const { createServer } = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is already in use by another process'
          : err.code === 'EACCES'
            ? 'needs privileges this user lacks'
            : `cannot be listened on (${err.code ?? err.message})`;
      reject(
        new StartupError(
          `port ${port} on ${host} ${why}: stop that process or choose another with --port (BULWARK_PORT)`,
        ),
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
