import { describe, expect, it } from 'vitest';
import type { ArgsDef } from 'citty';
import { repeatedOptionValues } from './repeated-options.js';

const args = {
  name: { type: 'string' },
  scope: { type: 'string' },
  allowIp: { type: 'string' },
  note: { type: 'string' },
  yes: { type: 'boolean', alias: 'y' },
  output: { type: 'enum', alias: 'o', options: ['table', 'json'] },
  id: { type: 'positional', required: false },
} satisfies ArgsDef;

describe('repeatedOptionValues', () => {
  it('collects every occurrence, in order, in both spellings (--opt v and --opt=v)', () => {
    expect(repeatedOptionValues(['--scope', 'a', '--name', 'n', '--scope=b', '-y', '--scope', 'c'], args, 'scope')).toEqual(['a', 'b', 'c']);
  });

  it('splits comma-separated lists and mixes them with repeats; drops empty pieces', () => {
    expect(repeatedOptionValues(['--scope', 'a,b', '--scope', ' c , ,d', '--scope='], args, 'scope')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('kebab-cases camelCase names: allowIp is --allow-ip', () => {
    expect(repeatedOptionValues(['--allow-ip', '10.0.0.0/8', '--allow-ip', '2001:db8::/32'], args, 'allowIp')).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
    ]);
  });

  it('never takes another option’s value for the option, nor anything after --', () => {
    expect(repeatedOptionValues(['--note', '--scope', '--scope', 'x', '--', '--scope', 'y'], args, 'scope')).toEqual(['x']);
    expect(repeatedOptionValues(['-o', 'json', 'positional', '--scope', 'z'], args, 'scope')).toEqual(['z']);
  });

  it('is empty when the option is absent', () => {
    expect(repeatedOptionValues(['--name', 'n'], args, 'scope')).toEqual([]);
  });
});
