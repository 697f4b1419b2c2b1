import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, href, html, jsonIsland, SafeHtml } from '../../server/ui/html.ts';

describe('html`` escaper', () => {
  it('escapes interpolated text in content and attributes', () => {
    const name = `<img src=x onerror="alert(1)">'&`;
    const out = html`<td title="${name}">${name}</td>`.value;
    expect(out).toBe(
      '<td title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;</td>',
    );
  });

  it('keeps nested html`` and joins arrays, drops null/undefined/false', () => {
    const items = ['a<b', 'c'];
    const out = html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${null}${undefined}${false}${0}`.value;
    expect(out).toBe('<ul><li>a&lt;b</li><li>c</li></ul>0');
  });

  it('never lets a plain string through as markup', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = html`<p>${s}</p>`.value;
        const inner = out.slice(3, -4);
        expect(inner).not.toMatch(/[<>"'`]/);
        expect(inner.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toContain('&');
      }),
    );
  });

  it('escapeHtml round-trips through a parser-like unescape', () => {
    const decode = (t: string) =>
      t
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&#96;/g, '`')
        .replace(/&amp;/g, '&');
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(decode(escapeHtml(s))).toBe(s);
      }),
    );
  });

  it('json islands cannot close their script element', () => {
    const out = jsonIsland({ label: '</script><script>alert(1)</script>', x: '\u2028' }).value;
    expect(out).not.toContain('</script');
    expect(out).not.toContain('<');
    expect(JSON.parse(out)).toEqual({ label: '</script><script>alert(1)</script>', x: '\u2028' });
  });

  it('href encodes query values and skips empty ones', () => {
    expect(href('/ui/sessions', { user: 'a&b=c', q: '', pod: undefined })).toBe(
      '/ui/sessions?user=a%26b%3Dc',
    );
    expect(href('/ui/sessions')).toBe('/ui/sessions');
  });

  it('SafeHtml stringifies to its markup', () => {
    expect(`${new SafeHtml('<b>')}`).toBe('<b>');
  });
});
