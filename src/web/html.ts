// HTML templating that escapes by default: every value interpolated into html`…` is escaped unless it is already
// Html (another template's output, or an explicit raw() for trusted fragments such as sanitized Markdown). That makes
// the safe path the short one: forgetting to escape needs a visible raw() call.

/** A fragment of markup that is safe to insert as is. Only html`…` and raw() create one. */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for element content and for quoted attribute values (templates always quote attributes). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** Marks trusted markup as safe. Callers MUST only pass markup they produced or sanitized themselves. */
export const raw = (markup: string): Html => new Html(markup);

/** A value a template accepts: text (escaped), Html (kept), lists of either, and nothing (null, undefined, false). */
export type Renderable = Html | string | number | boolean | null | undefined | readonly Renderable[];

function render(value: Renderable): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return (value as readonly Renderable[]).map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}
