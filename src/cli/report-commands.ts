// `bulwark report NAME[@VERSION] --reason … --details …`: reports a package to a registry's moderators through the
// reports API (docs/moderation.md), with the user's own npm configuration, so a user who can `npm install` from the
// registry can report without configuring anything else: the registry and the token are found as npm finds them.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REASONS, parseSpec } from '../safety/reports.ts';
import type { Command, Values } from './command.ts';

const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';

/** Reads an .npmrc (ini: key=value, ; and # comments), expanding ${VAR} as npm does; a missing file is empty. */
export function readNpmrc(file: string, env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith(';') || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) continue;
    const key = trimmed.slice(0, eq).trim();
    let value = trimmed.slice(eq + 1).trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out.set(
      key,
      value.replace(/\$\{([^}]+)\}/g, (_, name: string) => env[name] ?? ''),
    );
  }
  return out;
}

/** npm's environment configuration: npm_config_KEY in any case. */
function envConfig(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const wanted = `npm_config_${key}`.toLowerCase();
  for (const [k, v] of Object.entries(env)) if (k.toLowerCase() === wanted && v) return v;
  return undefined;
}

/** //host[:port]/path/ of a registry URL: the key npm files its credentials under ("nerf dart"). */
export function nerfDart(url: string): string {
  const u = new URL(url);
  return `//${u.host}${u.pathname.replace(/\/?$/, '/')}`;
}

/**
 * The registry and token to use, in npm's order: --registry / --token flags, then the environment
 * (npm_config_registry, BULWARK_TOKEN), then the project's .npmrc, then the user's (--userconfig,
 * npm_config_userconfig, ~/.npmrc). The token is the registry's `//host/path/:_authToken`, looked up from the
 * registry's path upwards as npm-registry-fetch does.
 */
export function clientConfig(
  values: Values,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { registry: string; token: string | null } {
  const userconfig =
    (typeof values.userconfig === 'string' && values.userconfig) ||
    envConfig(env, 'userconfig') ||
    path.join(env.HOME || os.homedir(), '.npmrc');
  const files = [readNpmrc(path.join(cwd, '.npmrc'), env), readNpmrc(userconfig, env)];
  const fromFiles = (key: string) => files.map((f) => f.get(key)).find((v) => v !== undefined && v !== '');
  const registryRaw =
    (typeof values.registry === 'string' && values.registry) ||
    envConfig(env, 'registry') ||
    fromFiles('registry') ||
    DEFAULT_REGISTRY;
  let registry: string;
  try {
    registry = new URL(registryRaw).href;
  } catch {
    throw new Error(`the registry must be a URL, not ${registryRaw}`);
  }
  let token = (typeof values.token === 'string' && values.token) || env.BULWARK_TOKEN || null;
  if (!token) {
    const dart = nerfDart(registry);
    const segments = dart.slice(2).split('/').filter(Boolean);
    for (let n = segments.length; n >= 1 && !token; n--)
      token = fromFiles(`//${segments.slice(0, n).join('/')}/:_authToken`) ?? null;
  }
  return { registry: registry.replace(/\/?$/, '/'), token };
}

export const REPORT_COMMANDS: Record<string, Command> = {
  report: {
    usage: 'bulwark report NAME[@VERSION] --reason REASON --details TEXT [--registry URL] [--json]',
    summary: "report a malicious, suspicious, spam or typosquatting package to a registry's moderators",
    positionals: ['NAME[@VERSION]'],
    options: {
      reason: { type: 'string' },
      details: { type: 'string' },
      registry: { type: 'string' },
      token: { type: 'string' },
      userconfig: { type: 'string' },
      json: { type: 'boolean' },
    },
    help: `Sends a report to the registry's moderators, who see it in their queue ordered by risk. Without @VERSION the
whole package is reported. You get a receipt by email, and another email when the moderators have decided. Reporting
the same NAME@VERSION again shows your first report instead of sending another.

Options:
  --reason <reason>    one of: ${REASONS.join(', ')} (required)
  --details <text>     what you found: which files, what they do, links to evidence (required, 10 to 5000 characters)
  --registry <url>     the registry (default: as npm: npm_config_registry, then registry= in ./.npmrc or ~/.npmrc)
  --token <token>      your token (default: BULWARK_TOKEN, then the registry's _authToken in .npmrc, as npm uses it)
  --userconfig <file>  the user .npmrc to read (default: npm_config_userconfig, then ~/.npmrc)
  --json               print the registry's answer as JSON

Exit status: 0 when the report was filed (or was already), 1 when the registry refused it, 2 for a usage error.`,
    async run({ values, positionals }) {
      const { package: name, version } = parseSpec(positionals[0]!);
      if (typeof values.reason !== 'string' || !(REASONS as readonly string[]).includes(values.reason)) {
        console.error(`bulwark report: --reason must be one of ${REASONS.join(', ')}`);
        return 2;
      }
      if (typeof values.details !== 'string' || !values.details.trim()) {
        console.error('bulwark report: --details is required: say what you found');
        return 2;
      }
      let config;
      try {
        config = clientConfig(values);
      } catch (err) {
        console.error(`bulwark report: ${(err as Error).message}`);
        return 2;
      }
      if (!config.token) {
        console.error(
          `bulwark report: no token for ${config.registry}: run \`npm login --registry ${config.registry}\` or pass --token`,
        );
        return 1;
      }
      const res = await fetch(new URL('-/bulwark/v1/reports', config.registry), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${config.token}`,
        },
        body: JSON.stringify({ package: name, version, reason: values.reason, details: values.details }),
      });
      const text = await res.text();
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { error: text.slice(0, 200) };
      }
      if (!res.ok) {
        const retry = res.headers.get('retry-after');
        console.error(
          `bulwark report: the registry refused the report (${res.status}): ${String(body.error ?? res.statusText)}${retry ? ` (retry after ${retry} seconds)` : ''}`,
        );
        return 1;
      }
      if (values.json) {
        console.log(JSON.stringify(body, null, 2));
        return 0;
      }
      const what = `${String(body.package)}${body.version ? `@${String(body.version)}` : ''}`;
      if (body.duplicate)
        console.log(
          `You already reported ${what}: report #${String(body.id)} is ${body.status === 'open' ? 'waiting for the moderators' : `resolved (${String(body.outcome)})`}.`,
        );
      else
        console.log(
          `Report #${String(body.id)} of ${what} sent to the moderators of ${config.registry}. You will get a receipt by email, and the outcome when they have decided.`,
        );
      return 0;
    },
  },
};
