import Handlebars from 'handlebars';
import { describe, expect, test } from 'vitest';
import { renderTemplate } from '../src/build/assemble/render.ts';
import { checkTemplate } from '../src/build/validate/template.ts';
import { tier } from './helpers/tier.ts';

/**
 * The build renders prompts by walking the checked AST; these cases pin its output to what
 * Handlebars itself renders with the options the build used to compile with.
 */
const engine = Handlebars.create();
for (const helper of ['lookup', 'with', 'log']) engine.unregisterHelper(helper);
const reference = (source: string) =>
  engine.compile(source, {
    strict: true,
    noEscape: true,
    knownHelpersOnly: true,
    knownHelpers: { if: true, unless: true, each: true, lookup: false, with: false, log: false, helperMissing: false, blockHelperMissing: false },
    assumeObjects: true,
  });

const context = {
  bot: { id: 'desk', version: '1.0.0', description: 'answers <questions> & "quotes"' },
  expert: { name: 'triage', description: 'sorts incoming issues' },
  tools: [
    { name: 'issues', description: 'GitHub issues', methods: ['github.issues.list.v1', 'github.issues.get.v1'] },
    { name: 'chat', description: 'Slack', methods: ['slack.post.v1'] },
  ],
  skills: ['tone', 'escalation'],
};
const empty = { ...context, tools: [], skills: [] };
const repeated = { ...context, skills: ['same', 'same'] };

const cases: [string, string, object][] = [
  ['plain text', 'Hello.\n\nNo mustaches here.\n', context],
  ['names and noEscape', 'Bot {{bot.id}} v{{bot.version}}: {{bot.description}} / {{{bot.description}}} / {{&expert.name}}', context],
  ['standalone blocks', '{{#if tools}}\nTools:\n{{#each tools}}\n- {{name}}: {{description}}\n{{/each}}\n{{else}}\nNo tools.\n{{/if}}\nEnd\n', context],
  ['standalone blocks, empty', '{{#if tools}}\nTools:\n{{#each tools}}\n- {{name}}\n{{/each}}\n{{else}}\nNo tools.\n{{/if}}\nEnd\n', empty],
  ['standalone with CRLF', '{{#each skills}}\r\n* {{this}}\r\n{{/each}}\r\ndone\r\n', context],
  ['indented standalone', 'List:\n  {{#each skills}}\n  - {{.}}\n  {{/each}}\nend', context],
  ['comments', '{{! short }}\nA {{!-- long {{with}} mustaches --}} B\n  {{!-- standalone --}}\nC', context],
  ['separators with @last', 'Skills: {{#each skills}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}.', context],
  ['data variables', '{{#each tools}}{{@index}}{{@first}}{{@last}} {{#if @index}}later{{else}}first{{/if}};{{/each}}', context],
  ['nested each with ../', '{{#each tools}}{{#each methods}}[{{../name}}.{{this}} of {{../../bot.id}} {{@index}}/{{@../index}}{{#if @first}} F{{/if}}{{#if @last}} L{{/if}}]{{/each}}{{/each}}', context],
  ['../ through if blocks', '{{#each tools}}{{#if methods}}{{#each methods}}{{#unless @first}}{{../description}}|{{/unless}}{{/each}}{{/if}}{{/each}}', context],
  ['@root', '{{#each tools}}{{@root.bot.id}}/{{name}} {{#each methods}}{{@root.expert.name}}{{/each}}{{/each}}', context],
  ['block params', '{{#each tools as |tool i|}}{{i}}:{{tool.name}}{{#each tool.methods as |m j|}}[{{m}} {{j}} {{tool.name}} {{i}} {{../name}}]{{/each}}{{/each}}', context],
  ['block param shadows a field', '{{#each tools as |bot|}}{{bot.name}} {{this.name}} {{@root.bot.id}};{{/each}}', context],
  ['block param named like data', '{{#each tools as |t index|}}{{@index}}{{index}}{{/each}}', context],
  ['whitespace control', 'A  {{~#if bot.id~}}  B  {{~/if~}}  C\n{{~expert.name~}}\n\nD {{~#each skills}} {{this~}} {{/each~}} E', context],
  ['whitespace control around else', '{{#if skills~}}\n  yes\n{{~else~}}\n  no\n{{~/if}}|', empty],
  ['each with else', '{{#each skills}}{{this}}{{else}}no skills{{/each}}|{{#each tools}}{{name}}{{^}}no tools{{/each}}', empty],
  ['unless and if on empty lists', '{{#if skills}}has{{/if}}{{#unless skills}}none{{/unless}}{{#unless tools}}none{{else}}some{{/unless}}', empty],
  ['else if chains', '{{#if skills}}S{{else if tools}}T{{else}}N{{/if}}{{#unless skills}}-{{else unless tools}}+{{/unless}}', { ...context, skills: [] }],
  ['this and ./', '{{#each skills}}{{this}}{{./this}}{{.}}|{{/each}}{{#each tools}}{{this.name}}{{./description}}{{/each}}', context],
  ['escaped mustache', '\\{{bot.id}} and {{bot.id}}', context],
  ['depth does not grow when the context repeats', '{{#each skills}}{{#each ../skills}}<{{../this}}>{{/each}}{{/each}}', repeated],
  ['standalone inverse in each', '{{#each tools}}\n{{name}}\n{{else}}\nnone\n{{/each}}\n', empty],
  ['numbers and booleans add up as in JavaScript', '{{#each tools}}{{@index}}{{@last}}{{#if @first}}{{@index}}{{@first}}{{/if}}|{{/each}}', context],
  ['trailing and leading whitespace', '\n\n  {{expert.name}}  \n\n', context],
];

describe('renderTemplate matches Handlebars', () => {
  test.each(cases)('%s', (_name, source, data) => {
    const checked = checkTemplate(source);
    expect(checked.template).toBeDefined();
    expect(renderTemplate(checked.template!, data)).toBe(reference(source)(data));
  });

  test.each([
    ['a missing name', '{{bot.missing}}'],
    ['a block param of `if`, which has none', '{{#if bot as |b|}}{{b.id}}{{/if}}'],
    ['a block param that hides a helper', '{{#each skills as |if|}}{{#if if}}x{{/if}}{{/each}}'],
    ['a partial', '{{> other}}'],
  ])('%s throws, as in Handlebars', (_name, source) => {
    const template = Handlebars.parse(source);
    expect(() => renderTemplate(template, context)).toThrow();
    if (!source.includes('as |if|')) expect(() => reference(source)(context)).toThrow();
  });
});

/** Random templates from the constructs the checker allows, in and out of scope. */
function randomTemplate(next: () => number, depth = 0): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const tilde = () => (next() < 0.2 ? '~' : '');
  const values = ['tools', 'skills', 'methods', '../tools', '../skills', 'bot', 'bot.id', 'this', 'a', 't.methods', '@first', '@last', '@index', '@root.skills'];
  const names = ['bot.id', 'expert.name', 'name', 'this', '.', '../name', '../../bot.id', '@index', '@first', '@last', '@../index', '@root.bot.id', 'a', 'b', 't.name', 'description'];
  let out = '';
  const parts = 1 + Math.floor(next() * 5);
  for (let n = 0; n < parts; n++) {
    const roll = next();
    if (roll < 0.35) out += pick(['a', ' ', '\n', '  ', 'x y\n', '\r\n', '- ', ', ']);
    else if (roll < 0.7 || depth >= 3) out += `{{${tilde()}${pick(names)}${tilde()}}}`;
    else {
      const helper = pick(['if', 'unless', 'each', 'each']);
      const params = helper === 'each' && next() < 0.4 ? ` as |${pick(['a', 't'])} ${pick(['b', 'i'])}|` : '';
      const line = () => (next() < 0.5 ? '\n' : '');
      out += `${line()}{{${tilde()}#${helper} ${pick(values)}${params}${tilde()}}}${line()}${randomTemplate(next, depth + 1)}`;
      if (next() < 0.4) out += `${line()}{{${tilde()}else${tilde()}}}${line()}${randomTemplate(next, depth + 1)}`;
      out += `${line()}{{${tilde()}/${helper}${tilde()}}}${line()}`;
    }
  }
  return out;
}

/** Random templates compared: each is compiled by Handlebars (new Function), most of the test's time. */
const RANDOM_TEMPLATES = tier(150, 500);

test('renderTemplate matches Handlebars on random templates', () => {
  let seed = 12345;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const outcome = (render: () => string) => {
    try {
      return { text: render() };
    } catch {
      return { threw: true };
    }
  };
  let rendered = 0;
  for (let n = 0; n < RANDOM_TEMPLATES; n++) {
    const source = randomTemplate(next);
    const compiled = reference(source);
    for (const data of [context, empty, repeated]) {
      const expected = outcome(() => compiled(data));
      expect({ source, ...outcome(() => renderTemplate(Handlebars.parse(source), data)) }).toEqual({ source, ...expected });
      if (expected.text !== undefined) rendered++;
    }
  }
  // Names out of scope make many cases throw (in both); enough must render to prove much.
  expect(rendered).toBeGreaterThan(RANDOM_TEMPLATES * 0.6);
});

test('a checked template keeps no source locations or strip flags, and renders as the full tree does', () => {
  const sources = [
    '{{#if tools}}\nTools:\n{{#each tools}}\n- {{name}}: {{#each methods}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}\n{{/each}}\n{{else}}\nnone\n{{/if}}\n',
    // Outside the fast parser's subset: a comment and whitespace control with `~`.
    '{{! a note }}{{#each skills as |s i|}}{{~s~}} {{i}}{{/each}}',
  ];
  const held: string[] = [];
  const find = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (['loc', 'strip', 'openStrip', 'inverseStrip', 'closeStrip'].includes(key) && value !== undefined) held.push(`${path}.${key}`);
      find(value, `${path}.${key}`);
    }
  };
  for (const source of sources) {
    const checked = checkTemplate(source);
    expect(checked.problems).toEqual([]);
    find(checked.template, source.slice(0, 12));
    expect(renderTemplate(checked.template!, context)).toBe(reference(source)(context));
  }
  expect(held).toEqual([]);
});
