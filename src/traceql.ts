// TraceQL highlighting and syntax checks for the query editor, from Grafana's
// own TraceQL grammar (@grafana/lezer-traceql, the one Tempo's data source
// uses), so what is flagged here is what Grafana's Tempo editor flags.
// This file only names the grammar's node types for colouring.
import { parser } from '@grafana/lezer-traceql';

/** What a piece of query text is, for colouring. */
export type TokenKind =
  | 'attribute'
  | 'intrinsic'
  | 'string'
  | 'number'
  | 'value'
  | 'variable'
  | 'operator'
  | 'function'
  | 'comment'
  | 'plain';

/** A run of query text of one kind; the tokens of a query cover it exactly, in order. */
export interface Token {
  from: number;
  to: number;
  kind: TokenKind;
}

/** A place where the query does not parse. */
export interface SyntaxError {
  /** Offset of the first character the grammar cannot read (the text's length when it ends too early). */
  from: number;
  message: string;
}

// Node types coloured as a whole (their children are not looked at).
const whole: Record<string, TokenKind> = {
  AttributeField: 'attribute',
  IntrinsicField: 'intrinsic',
  String: 'string',
  Integer: 'number',
  Float: 'number',
  Duration: 'number',
  TemplateVariable: 'variable',
  Aggregate: 'function',
  LineComment: 'comment',
  BlockComment: 'comment',
};

// Leaf node types (no children), by kind.
const leaves: Record<string, TokenKind> = {
  Static: 'value',
  FieldOp: 'operator',
  ComparisonOp: 'operator',
  ScalarOp: 'operator',
  And: 'operator',
  Or: 'operator',
  Pipe: 'operator',
  Gt: 'operator',
  Lt: 'operator',
  Desc: 'operator',
  Anc: 'operator',
  ExperimentalOp: 'operator',
  UnionStructuralOp: 'operator',
};

// Operations named by a keyword (by, select, rate, …): their leaf children
// that no rule above names are the keyword and its punctuation.
const operations = /Operation|Type$/;

/** Splits a query into coloured tokens; text the grammar puts in no named node is plain. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const push = (from: number, to: number, kind: TokenKind) => {
    if (from < at || to <= from) {
      return;
    }
    if (from > at) {
      tokens.push({ from: at, to: from, kind: 'plain' });
    }
    tokens.push({ from, to, kind });
    at = to;
  };
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) {
        return false;
      }
      const kind = whole[node.name];
      if (kind) {
        push(node.from, node.to, kind);
        return false;
      }
      if (!node.node.firstChild) {
        const leaf = leaves[node.name] ?? (operations.test(node.name) ? 'function' : undefined);
        if (leaf) {
          push(node.from, node.to, leaf);
        }
      }
      return true;
    },
  });
  if (at < text.length) {
    tokens.push({ from: at, to: text.length, kind: 'plain' });
  }
  return tokens;
}

// A query that is only a template variable is replaced before it is parsed by anyone.
const onlyVariable = /^(\$\w+|\$\{\w+(:\w+)?\}|\[\[\w+\]\])$/;

/** The first syntax error of a query, or undefined when it parses (or is empty: all traces). */
export function syntaxError(text: string): SyntaxError | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || onlyVariable.test(trimmed)) {
    return undefined;
  }
  let from: number | undefined;
  parser.parse(text).iterate({
    enter(node) {
      if (from === undefined && node.type.isError) {
        from = node.from;
      }
      return from === undefined;
    },
  });
  if (from === undefined) {
    return undefined;
  }
  // The grammar reports some errors at the end of a run of spaces; point at
  // what the user wrote instead.
  const rest = text.slice(from);
  const next = rest.trimStart();
  const at = from + (rest.length - next.length);
  if (next === '') {
    return {
      from: text.length,
      message:
        'TraceQL syntax error: the query ends too early (a missing value, operator or closing brace?), e.g. {resource.service.name="api" && duration > 500ms}',
    };
  }
  const unexpected = next.match(/^(\w+|\S)/)?.[0] ?? next[0];
  return {
    from: at,
    message: `TraceQL syntax error at character ${at + 1}: unexpected "${unexpected}", e.g. {resource.service.name="api" && duration > 500ms}`,
  };
}
