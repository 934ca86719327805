/**
 * Renders a prompt template by walking the AST that `checkTemplate` already parsed, instead
 * of compiling every template to JavaScript with Handlebars (the largest cost of a build
 * with thousands of prompts). It reproduces what `Handlebars.compile(source, {strict: true,
 * noEscape: true, knownHelpersOnly: true, assumeObjects: true})` renders for the constructs
 * the checker lets through: text, comments, `{{path}}`, and `if`/`unless`/`each` blocks with
 * one path, `{{else}}`, block params, `@index`/`@first`/`@last`/`@root`, `this` and `../`.
 * Whitespace control and standalone lines are applied by `Handlebars.parse` itself.
 * Anything else throws, so a template that slipped past the checker fails loudly.
 */

/** A parsed prompt template (`Handlebars.parse`, whitespace control applied). */
export type Template = hbs.AST.Program;
type Program = Template;

/** A chain link: block params, `../` contexts and `@data` frames are all innermost-first chains. */
interface Scope {
  /** Names declared by the program (`as |item index|`). */
  names: readonly string[] | undefined;
  /** Their values; undefined for programs that `if`/`unless`/`{{else}}` run, which pass none. */
  values: readonly unknown[] | undefined;
  parent: Scope | undefined;
}

interface Depth {
  context: unknown;
  parent: Depth | undefined;
}

/** The `@data` frame of Handlebars: `root` at the top, plus `index`/`first`/`last` inside `each`. */
interface DataFrame {
  root: unknown;
  index?: number;
  first?: boolean;
  last?: boolean;
  key?: string | number;
  _parent?: DataFrame;
}

interface Frame {
  context: unknown;
  depths: Depth;
  data: DataFrame;
  scope: Scope | undefined;
}

/** Paths that name the context explicitly (`this`, `./x`) never resolve to a block param. */
const SCOPED = /^\.|this\b/;

export function renderTemplate(program: Program, context: unknown): string {
  const scope: Scope = { names: program.blockParams, values: undefined, parent: undefined };
  return '' + (body(program, { context, depths: { context, parent: undefined }, data: { root: context }, scope }) as string);
}

/** Runs a nested program the way Handlebars' `wrapProgram` does. */
function run(program: Program, outer: Frame, context: unknown, data: DataFrame, values: readonly unknown[] | undefined): unknown {
  // `../` counts context changes: a program run on the same context adds no depth (loose `!=` as in Handlebars).
  const depths = context != outer.depths.context ? { context, parent: outer.depths } : outer.depths;
  return body(program, { context, depths, data, scope: { names: program.blockParams, values, parent: outer.scope } });
}

/**
 * A compiled program returns its terms joined by `+` in one expression, without turning them
 * into strings first: `{{@index}}{{@first}}` renders 0 + true, which is 1. Folding the terms
 * with `+` the same way keeps even that output identical. Empty text adds no term; a null
 * value adds "".
 */
function body(program: Program, frame: Frame): unknown {
  let out: unknown = '';
  let first = true;
  for (const node of program.body) {
    let term: unknown;
    switch (node.type) {
      case 'ContentStatement':
        term = (node as hbs.AST.ContentStatement).value;
        if (term === '') continue;
        break;
      case 'CommentStatement':
        continue;
      case 'MustacheStatement': {
        const mustache = node as hbs.AST.MustacheStatement;
        if (mustache.params.length > 0 || mustache.hash?.pairs.length) throw new Error('helpers cannot be called in `{{...}}`');
        term = evaluate(pathOf(mustache.path), frame, true) ?? '';
        break;
      }
      case 'BlockStatement':
        term = block(node as hbs.AST.BlockStatement, frame) ?? '';
        break;
      default:
        throw new Error(`unsupported template construct \`${node.type}\``);
    }
    out = first ? term : (out as string) + (term as string);
    first = false;
  }
  return out;
}

function block(node: hbs.AST.BlockStatement, frame: Frame): unknown {
  const helper = node.path.original;
  if (node.params.length !== 1 || node.hash?.pairs.length) throw new Error(`\`{{#${helper}}}\` takes exactly one name`);
  // Handlebars would treat a block param of that name as a value, not as the helper.
  if (findParam(frame.scope, helper)) throw new Error(`block param \`${helper}\` hides the \`${helper}\` helper`);
  const value = evaluate(pathOf(node.params[0]!), frame, false);
  const fn = (context: unknown, data: DataFrame, values?: readonly unknown[]) => run(node.program, frame, context, data, values);
  const inverse = () => (node.inverse ? run(node.inverse, frame, frame.context, frame.data, undefined) : '');
  switch (helper) {
    case 'if':
      return isFalsy(value) ? inverse() : fn(frame.context, frame.data);
    case 'unless':
      return isFalsy(value) ? fn(frame.context, frame.data) : inverse();
    case 'each':
      return each(value, fn, inverse, frame.data);
    default:
      throw new Error(`unknown block helper \`${helper}\``);
  }
}

/** The `if` helper's test without `includeZero`: falsy (0 included) or an empty list. */
function isFalsy(value: unknown): boolean {
  return !value || (Array.isArray(value) && value.length === 0);
}

/**
 * The `each` helper over the JSON-like render context: a list by index, an object by its keys
 * (as Handlebars does, though the checker only lets lists through); anything else is empty.
 */
function each(
  list: unknown,
  fn: (context: unknown, data: DataFrame, values: readonly unknown[]) => unknown,
  inverse: () => unknown,
  data: DataFrame,
): unknown {
  if (list === null || typeof list !== 'object') return inverse();
  const keys: readonly (string | number)[] = Array.isArray(list) ? list.map((_, i) => i) : Object.keys(list);
  if (keys.length === 0) return inverse();
  // One frame reused across iterations, as the helper does.
  const frame: DataFrame = { ...data, _parent: data };
  let out = '';
  for (const [index, key] of keys.entries()) {
    const item = (list as Record<string | number, unknown>)[key];
    frame.key = key;
    frame.index = index;
    frame.first = index === 0;
    frame.last = index === keys.length - 1;
    out += fn(item, frame, [item, key]) as string;
  }
  return out;
}

/**
 * Resolves a path like Handlebars' compiled lookups: block params first (even for `@name`),
 * then `@data` or the context `depth` levels up; own properties only. A rendered name
 * (`strict`) must exist on its parent; a block's parameter or a block param's field may be
 * undefined.
 */
function evaluate(path: hbs.AST.PathExpression, frame: Frame, strict: boolean): unknown {
  const parts = path.parts;
  const param = path.depth === 0 && parts.length > 0 && !SCOPED.test(path.original) ? findParam(frame.scope, parts[0]!) : undefined;
  let value: unknown;
  let start = 0;
  if (param) {
    if (!param.values) throw new Error(`block param \`${parts[0]}\` has no value: only \`each\` provides block params`);
    value = param.values[param.names!.indexOf(parts[0]!)];
    start = 1;
    strict = false;
  } else if (parts.length === 0) {
    return contextAt(frame, path.depth);
  } else if (path.data) {
    value = dataAt(frame.data, path.depth);
  } else {
    value = contextAt(frame, path.depth);
  }
  const end = strict ? parts.length - 1 : parts.length;
  for (let i = start; i < end; i++) value = property(value, parts[i]!);
  if (strict) {
    const name = parts[end]!;
    if (!value || typeof value !== 'object' || !(name in value)) throw new Error(`"${name}" not defined in ${String(value)}`);
    value = property(value, name);
  }
  return value;
}

function pathOf(node: hbs.AST.Node): hbs.AST.PathExpression {
  if (node.type !== 'PathExpression') throw new Error(`a ${node.type} cannot be rendered`);
  return node as hbs.AST.PathExpression;
}

function findParam(scope: Scope | undefined, name: string): Scope | undefined {
  for (let s = scope; s; s = s.parent) if (s.names?.includes(name)) return s;
  return undefined;
}

function contextAt(frame: Frame, depth: number): unknown {
  if (depth === 0) return frame.context;
  let d: Depth | undefined = frame.depths;
  for (let n = depth; d && n > 0; n--) d = d.parent;
  return d?.context;
}

function dataAt(data: DataFrame, depth: number): DataFrame | undefined {
  let d: DataFrame | undefined = data;
  for (let n = depth; d && n > 0; n--) d = d._parent;
  return d;
}

/** Handlebars' `lookupProperty`: throws on a missing parent, sees own properties only. */
function property(parent: unknown, name: string): unknown {
  const value = (parent as Record<string, unknown>)[name];
  if (value == null) return value;
  return Object.hasOwn(parent as object, name) ? value : undefined;
}
