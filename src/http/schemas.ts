// The shapes routes take, declared as JSON schema (TypeBox writes the schema and its static type from one
// declaration), and the one sentence a failed check answers with. Fastify validates params, query and body against
// a route's schema after its preParsing hooks (the gate's signedIn, the upload slots) and before any handler: a
// refusal never depends on what is stored, so a missing package and one the caller cannot read fail alike.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import { fail, type ClientError } from '../errors.ts';

export { Type, type Static };

/** One validation failure as Ajv reports it (the fields this module reads). */
type SchemaProblem = {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string | undefined;
  parentSchema?: { description?: string } | undefined;
};

const PLACES: Record<string, string> = {
  body: 'the request body',
  querystring: 'the query',
  params: 'the URL',
  headers: 'the headers',
};

/** "versions.1.0.0" for the JSON pointer /versions/1.0.0. */
const fieldOf = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');

/**
 * The sentence for the first problem Ajv found, naming the field and where it is: `"size" in the query must be a
 * whole number`. A schema's `description` says what a valid value is, in words, where the keyword alone (a pattern)
 * would not tell a person.
 */
export function validationSentence(problems: readonly SchemaProblem[], dataVar: string): string {
  const place = PLACES[dataVar] ?? dataVar;
  const p = problems[0];
  if (!p) return `${place} is not valid`;
  const field = fieldOf(p.instancePath);
  if (p.keyword === 'required') {
    const missing = String(p.params.missingProperty);
    return `${place} must have "${field ? `${field}.` : ''}${missing}"`;
  }
  const subject = field ? `"${field}" in ${place}` : place;
  const described = p.parentSchema?.description;
  switch (p.keyword) {
    case 'type': {
      const want = String(p.params.type);
      if (described) return `${subject} must be ${described}`;
      return `${subject} must be ${want === 'object' ? 'a JSON object' : want === 'array' ? 'a list' : `a ${want}`}`;
    }
    case 'maxLength':
      return `${subject} must be at most ${String(p.params.limit)} characters`;
    case 'minLength':
      return Number(p.params.limit) === 1
        ? `${subject} must not be empty`
        : `${subject} must be at least ${String(p.params.limit)} characters`;
    case 'maxProperties':
      return `${subject} has too many entries (at most ${String(p.params.limit)})`;
    case 'maxItems':
      return `${subject} has too many items (at most ${String(p.params.limit)})`;
    case 'enum':
      return `${subject} must be one of ${(p.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'additionalProperties':
      return `${subject} must not have "${String(p.params.additionalProperty)}"`;
    default:
      return described ? `${subject} must be ${described}` : `${subject} ${p.message ?? 'is not valid'}`;
  }
}

/** Fastify's schemaErrorFormatter: a failed check is the registry's E_INVALID_REQUEST, with the sentence above. */
export const schemaError = (problems: readonly SchemaProblem[], dataVar: string): ClientError =>
  fail('E_INVALID_REQUEST', validationSentence(problems, dataVar));

/**
 * Ajv's options for every route: no type coercion (a JSON `true` is not the string "true"; query and URL values
 * stay strings, checked by pattern), and the failing schema kept on the error, for its description.
 */
export const AJV_OPTIONS = { coerceTypes: false, verbose: true } as const;

// ---- shapes shared by several routes --------------------------------------------------------------------------

/** A string of at most `max` characters. */
export const Str = (max: number, description?: string) =>
  Type.String(description ? { maxLength: max, description } : { maxLength: max });

/** A whole number written in a query or URL (kept as its digits). */
export const Digits = (max = 15) => Type.String({ pattern: `^[0-9]{1,${max}}$`, description: 'a whole number' });

/** Any JSON object: the route reads its fields itself (deep checks belong to the service). */
export const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'a JSON object' });

/** npm's longest package name is 214 characters; a scope and a URL's other parts stay well within this. */
export const NAME_MAX = 214;

/** /:name and /@:scope/:name: the router has decoded them; the name rules themselves are names/syntax.ts's. */
export const NameParams = Type.Object({
  name: Type.Optional(Str(NAME_MAX)),
  scope: Type.Optional(Str(NAME_MAX)),
});

/** A route's schema, typed for Fastify's generics: `RouteTypes<typeof schema>` gives Params/Querystring/Body. */
export type RouteSchema = {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
};
type Of<S, K extends keyof RouteSchema> = S extends Record<K, infer T extends TSchema> ? Static<T> : unknown;
export type RouteTypes<S extends RouteSchema> = {
  Params: Of<S, 'params'>;
  Querystring: Of<S, 'querystring'>;
  Body: Of<S, 'body'>;
};

/** A route's schema as declared (TypeBox objects are JSON schema, which is what Fastify takes), types kept. */
export const schema = <S extends RouteSchema>(s: S): S & Pick<FastifySchema, never> => s;
