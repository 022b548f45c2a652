import { syntaxError, tokenize, TokenKind } from './traceql';

// The tokens as [text, kind] pairs, plain text left out.
function coloured(q: string): Array<[string, TokenKind]> {
  return tokenize(q)
    .filter((t) => t.kind !== 'plain')
    .map((t) => [q.slice(t.from, t.to), t.kind]);
}

describe('tokenize', () => {
  it('colours attributes, intrinsics, operators, strings and durations of a filter', () => {
    expect(coloured('{resource.service.name="widget-service" && duration > 500ms}')).toEqual([
      ['resource.service.name', 'attribute'],
      ['=', 'operator'],
      ['"widget-service"', 'string'],
      ['&&', 'operator'],
      ['duration', 'intrinsic'],
      ['>', 'operator'],
      ['500ms', 'number'],
    ]);
  });

  it('colours pipelines, aggregates, unscoped attributes, static values and template variables', () => {
    expect(coloured('{ .http.route = $route && status = error } | count() > 2')).toEqual([
      ['.http.route', 'attribute'],
      ['=', 'operator'],
      ['$route', 'variable'],
      ['&&', 'operator'],
      ['status', 'intrinsic'],
      ['=', 'operator'],
      ['error', 'value'],
      ['|', 'operator'],
      ['count()', 'function'],
      ['>', 'operator'],
      ['2', 'number'],
    ]);
  });

  it.each(['{resource.service.name="a"} | by(span.x)', '{ span.foo = }', '', '{{{', 'not traceql at all'])(
    'covers the whole text %p, in order, without overlaps',
    (q) => {
      const tokens = tokenize(q);
      let at = 0;
      for (const t of tokens) {
        expect(t.from).toBe(at);
        expect(t.to).toBeGreaterThan(t.from);
        at = t.to;
      }
      expect(at).toBe(q.length);
    }
  );
});

describe('syntaxError', () => {
  it.each([
    '',
    '   ',
    '{}',
    '{ duration > 1s }',
    '{resource.service.name="widget-service" && duration > 500ms}',
    '{ span.http.status_code >= 500 } | count() > 2',
    '{ .a = $svc }',
    '$query',
    '${query}',
  ])('accepts %p', (q) => {
    expect(syntaxError(q)).toBeUndefined();
  });

  it.each<[string, number, string]>([
    ['{ span.foo = }', 13, 'TraceQL syntax error at character 14: unexpected "}"'],
    ['{ a = 1 }', 2, 'TraceQL syntax error at character 3: unexpected "a"'],
    ['{ .x = "a" } )', 13, 'TraceQL syntax error at character 14: unexpected ")"'],
    ['{ status = error ', 17, 'TraceQL syntax error: the query ends too early'],
  ])('points at the first error of %p', (q, from, message) => {
    const err = syntaxError(q);
    expect(err?.from).toBe(from);
    expect(err?.message.startsWith(message)).toBe(true);
    // Every message shows what TraceQL looks like.
    expect(err?.message).toContain('{resource.service.name="api" && duration > 500ms}');
  });
});
