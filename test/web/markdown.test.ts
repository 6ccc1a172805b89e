import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderReadme } from '../../src/web/markdown.ts';

describe('README rendering', () => {
  const render = (md: string) => renderReadme(md).value;

  it('keeps ordinary Markdown', () => {
    const out = render(
      '# Title\n\nSome **bold** and `code`, a [link](https://example.com).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
    );
    assert.match(out, /<h1>Title<\/h1>/);
    assert.match(out, /<strong>bold<\/strong>/);
    assert.match(out, /<a href="https:\/\/example.com" rel="nofollow noopener noreferrer">link<\/a>/);
    assert.match(out, /<table>/);
  });

  const hostile: Array<[string, RegExp]> = [
    ['<script>alert(1)</script>', /script|alert/i],
    ['<img src=x onerror="alert(1)">', /onerror/i],
    ['<img src="data:image/svg+xml,<svg onload=alert(1)>">', /svg|onload/i],
    ['[x](javascript:alert(1))', /javascript/i],
    ['[x](JaVaScRiPt:alert(1))', /javascript/i],
    ['<a href="jav&#x09;ascript:alert(1)">x</a>', /href/i],
    ['<a href="  javascript:alert(1)">x</a>', /href/i],
    ['[x](data:text/html,<script>alert(1)</script>)', /data:|script/i],
    ['[x](vbscript:msgbox(1))', /vbscript/i],
    ['<a href="//evil.example/">x</a>', /evil/],
    ['<div style="background:url(javascript:alert(1))">x</div>', /style|javascript/i],
    ['<p onclick="alert(1)">x</p>', /onclick/i],
    ['<iframe src="https://evil.example"></iframe>', /iframe/i],
    ['<object data="x"></object><embed src="x">', /object|embed/i],
    ['<form action="https://evil.example"><input name=p></form>', /form|input/i],
    ['<svg><script>alert(1)</script></svg>', /svg|script/i],
    ['<math><mtext><style><img src=x onerror=alert(1)></style></mtext></math>', /onerror|math|style/i],
    ['<base href="https://evil.example/">', /base/i],
    ['<meta http-equiv="refresh" content="0;url=https://evil.example">', /meta|refresh/i],
    ['<link rel=stylesheet href="https://evil.example/x.css">', /link|stylesheet/i],
    ['<style>body{display:none}</style>', /style|display/i],
    ['<a href="x" id="__proto__" class="c" name="n">x</a>', /id=|class=|name=/],
  ];
  for (const [input, forbidden] of hostile) {
    it(`neutralises ${input}`, () => assert.doesNotMatch(render(input), forbidden));
  }

  it('keeps raster data: images and turns other images into links (the CSP allows no remote images)', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    assert.match(render(`![dot](${png})`), new RegExp(`<img src="${png.replace(/[+/]/g, '\\$&')}" alt="dot"`));
    assert.equal(
      render('![build status](https://ci.example/badge.svg)').trim(),
      '<p><a href="https://ci.example/badge.svg" rel="nofollow noopener noreferrer">build status</a></p>',
    );
  });
});
