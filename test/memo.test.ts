import { describe, expect, it } from 'vitest';
import { perText } from '../src/memo.js';

describe('perText: a function of a text, worked out once per text', () => {
  const counted = (limit?: number) => {
    const calls: string[] = [];
    const f = perText((t) => {
      calls.push(t);
      return { text: t, length: t.length };
    }, limit);
    return { f, calls };
  };

  it('a text met again gets the first answer, not worked out again', () => {
    const { f, calls } = counted();
    const first = f('CREATE TABLE a (x)');
    expect(f('CREATE TABLE a (x)')).toBe(first);
    expect(calls).toEqual(['CREATE TABLE a (x)']);
  });

  it('texts that differ in one character, or only in case or spacing, get answers of their own', () => {
    const { f, calls } = counted();
    const texts = ['CREATE TABLE a (x)', 'CREATE TABLE a (y)', 'create table a (x)', 'CREATE TABLE a  (x)', 'CREATE TABLE a (x) '];
    for (const t of texts) expect(f(t).text).toBe(t);
    expect(calls).toEqual(texts);
  });

  it('an answer of undefined is kept too, not worked out again', () => {
    let n = 0;
    const f = perText((): undefined => {
      n++;
      return undefined;
    });
    expect(f('x')).toBeUndefined();
    expect(f('x')).toBeUndefined();
    expect(n).toBe(1);
  });

  it('an answer that throws is not kept: the text is worked out again next time', () => {
    let n = 0;
    const f = perText((t) => {
      n++;
      if (n === 1) throw new Error('first try fails');
      return t;
    });
    expect(() => f('x')).toThrow('first try fails');
    expect(f('x')).toBe('x');
    expect(n).toBe(2);
  });

  it('is bounded: past its limit it forgets, and answers stay right', () => {
    const { f, calls } = counted(2);
    f('a');
    f('b');
    f('c'); // over the limit: a and b are forgotten
    f('c');
    f('a');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
    expect(f('b').text).toBe('b');
  });
});
