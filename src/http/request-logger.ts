// Per-request loggers made on first use. Fastify gives every request a pino child logger carrying its request id;
// making one (a bindings object, its JSON, a new logger object) is a measurable share of a cached read, and most
// requests never log anything: at the default level a routine read writes no line at all (see RequestLog).
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

type LogArgs = [unknown, ...unknown[]];

class LazyChild {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #log(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings));
  }

  // Until a line is written the child does not exist and its level is the parent's, even if that changes meanwhile.
  get level(): string {
    return (this.#child ?? this.#parent).level;
  }
  set level(level: string) {
    this.#log().level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }
  #write(level: Level, args: LogArgs): void {
    if (!this.isLevelEnabled(level)) return;
    (this.#log()[level] as (...a: LogArgs) => void)(...args);
  }
  fatal(...args: LogArgs): void {
    this.#write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.#write('error', args);
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args);
  }
  info(...args: LogArgs): void {
    this.#write('info', args);
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args);
  }
  silent(): void {}
  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#log().child(bindings, options);
  }
  bindings(): Bindings {
    return this.#log().bindings();
  }
}

/** A Fastify childLoggerFactory: the request's child logger, created when it first writes a line. */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  // A route-level level or serializer changes the child itself: make it at once, as Fastify would.
  if (Object.keys(options).length > 0) return logger.child(bindings, options);
  return new LazyChild(logger as Logger, bindings) as unknown as FastifyBaseLogger;
}
