// Reads LogQL with Grafana's own grammar (@grafana/lezer-logql, the parser behind Grafana's Loki editor):
// syntax errors, the stream selector, and the fields a query extracts from the JSON line after `| json`.
import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';

/**
 * Grafana replaces its variables before the query reaches Loki; the grammar knows LogQL, not Grafana's
 * macros, so they are substituted the same way first ($service by the variable's "All" value).
 */
export function interpolate(expr: string, variables: Record<string, string> = { service: '.+' }): string {
  return expr
    .replace(/\$__range\b/g, '1h')
    .replace(/\$__(auto|interval|rate_interval)\b/g, '1m')
    .replace(/\$(\w+)/g, (whole, name: string) => variables[name] ?? whole);
}

export interface StreamMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface QueryShape {
  /** offsets of syntax errors (empty when the query parses) */
  errors: number[];
  /** the label matchers of the stream selector(s) */
  selector: StreamMatcher[];
  /** whether the line is parsed with `| json` */
  json: boolean;
  /** labels the query groups its result by (stream labels or extracted fields) */
  groupBy: string[];
  /** extracted fields used by label filters, unwrap and line_format */
  fields: string[];
}

/** A LogQL string literal: "…" with Go escapes, or `…` raw. */
function unquote(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  return JSON.parse(literal.replace(/\\([^"\\/bfnrtu])/g, '\\\\$1')) as string;
}

function children(node: SyntaxNode, name: string): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (child.name === name) found.push(child);
  return found;
}

/** Parses a query (interpolate() it first) and describes what it reads. */
export function analyze(expr: string): QueryShape {
  const tree = parser.parse(expr);
  const text = (node: SyntaxNode) => expr.slice(node.from, node.to);
  const shape: QueryShape = { errors: [], selector: [], json: false, groupBy: [], fields: [] };
  const fields = new Set<string>();
  const groupBy = new Set<string>();
  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (ref.type.isError) shape.errors.push(ref.from);
      switch (ref.name) {
        case 'Json':
          shape.json = true;
          break;
        case 'Matcher': {
          const [label] = children(node, 'Identifier');
          const literal = children(node, 'String')[0];
          const op = node.getChild('Eq') ?? node.getChild('Neq') ?? node.getChild('Re') ?? node.getChild('Nre');
          if (!label || !literal || !op) break;
          const matcher = { label: text(label), op: text(op) as StreamMatcher['op'], value: unquote(text(literal)) };
          // A matcher directly in the selector picks streams; one in a pipeline filters on an extracted field.
          if (node.parent?.name === 'Matchers') shape.selector.push(matcher);
          else fields.add(matcher.label);
          break;
        }
        case 'NumberFilter':
        case 'DurationFilter':
        case 'BytesFilter':
        case 'UnwrapExpr':
          for (const id of children(node, 'Identifier')) fields.add(text(id));
          break;
        case 'Grouping':
          for (const labels of children(node, 'Labels')) for (const id of children(labels, 'Identifier')) groupBy.add(text(id));
          break;
        case 'LineFormatExpr': {
          const literal = children(node, 'String')[0];
          if (literal) for (const m of unquote(text(literal)).matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)) fields.add(m[1]);
          break;
        }
      }
    },
  });
  shape.fields = [...fields];
  shape.groupBy = [...groupBy];
  return shape;
}

/** Whether a stream with these labels is picked by the selector. */
export function selects(selector: StreamMatcher[], labels: Record<string, string | undefined>): boolean {
  return selector.every(({ label, op, value }) => {
    const actual = labels[label] ?? '';
    switch (op) {
      case '=':
        return actual === value;
      case '!=':
        return actual !== value;
      case '=~':
        return new RegExp(`^(?:${value})$`).test(actual);
      case '!~':
        return !new RegExp(`^(?:${value})$`).test(actual);
    }
  });
}
