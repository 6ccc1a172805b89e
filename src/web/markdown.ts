// READMEs are written by whoever publishes a package, so they are hostile input: Markdown is rendered with marked
// (which passes raw HTML through) and the result is sanitized with an allow-list. What survives has no script, no
// event handler, no style, no javascript: or other non-web URL, and no element that could load or frame content.
// The page's Content-Security-Policy is the second wall, not the first.
import { createRequire } from 'node:module';
import type * as MarkedModule from 'marked';
import type sanitizeHtml from 'sanitize-html';
import { raw, type Html } from './html.ts';

// Loaded on the first README, not at start: a registry that never renders one (most requests are npm's) does not
// carry the two libraries in memory. require() keeps renderReadme synchronous.
const require = createRequire(import.meta.url);
let render: { marked: MarkedModule.Marked; sanitize: typeof sanitizeHtml } | undefined;
function renderer(): NonNullable<typeof render> {
  if (!render) {
    const { Marked } = require('marked') as typeof MarkedModule;
    // A private instance: extensions or options set elsewhere on the global `marked` cannot change what we render.
    render = {
      marked: new Marked({ gfm: true, breaks: false }),
      sanitize: require('sanitize-html') as typeof sanitizeHtml,
    };
  }
  return render;
}

/** READMEs beyond this size are cut (npm's own limit is 64 KiB for the packument field; tarballs may hold more). */
const MAX_README = 512 * 1024;

// Images load only as data: URIs of raster formats (the CSP allows img-src 'self' data:); any other image becomes a
// link to it, so badges stay reachable instead of showing as broken.
const DATA_IMAGE = /^data:image\/(?:png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+$/i;

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'br',
    'hr',
    'blockquote',
    'pre',
    'code',
    'kbd',
    'samp',
    'var',
    'em',
    'strong',
    'b',
    'i',
    's',
    'del',
    'ins',
    'sub',
    'sup',
    'mark',
    'small',
    'abbr',
    'ul',
    'ol',
    'li',
    'dl',
    'dt',
    'dd',
    'table',
    'caption',
    'thead',
    'tbody',
    'tfoot',
    'tr',
    'th',
    'td',
    'a',
    'img',
    'details',
    'summary',
    'div',
    'span',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    th: ['align', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    ol: ['start'],
    abbr: ['title'],
    details: ['open'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['data'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'nofollow noopener noreferrer' } }),
    img: (tagName, attribs) => {
      const src = attribs.src ?? '';
      if (DATA_IMAGE.test(src)) return { tagName, attribs };
      return {
        tagName: 'a',
        attribs: { href: src, rel: 'nofollow noopener noreferrer' },
        text: attribs.alt || attribs.title || 'image',
      };
    },
  },
};

/** A README as safe HTML. */
export function renderReadme(markdown: string): Html {
  const source = markdown.length > MAX_README ? markdown.slice(0, MAX_README) : markdown;
  const { marked, sanitize } = renderer();
  return raw(sanitize(marked.parse(source, { async: false }), OPTIONS));
}
