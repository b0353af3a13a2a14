import { describe, expect, it } from 'vitest';
import {
  canonical,
  canonicalExpr,
  foldCase,
  matchParen,
  nameOf,
  quoteIdent,
  quoteString,
  splitStatements,
  splitTopLevel,
  stripOuterParens,
  tokenize,
  type Token,
} from '../src/sql/tokens.js';

/** kind:value pairs, the shortest readable picture of a token list. */
function kv(sql: string): string[] {
  return tokenize(sql).map((t) => `${t.kind}:${t.value}`);
}

function canon(sql: string): string {
  return canonical(tokenize(sql));
}

describe('tokenize', () => {
  it('reads a string with doubled-quote escapes as one token, kept as written', () => {
    const toks = tokenize(`SELECT 'it''s ''quoted''' , 'x'`);
    expect(toks.map((t) => t.kind)).toEqual(['word', 'string', 'punct', 'string']);
    expect(toks[1]!.value).toBe(`'it''s ''quoted'''`);
    expect(nameOf(toks[1]!)).toBe(`it's 'quoted'`);
    expect(toks[3]!.value).toBe(`'x'`);
  });

  it('keeps an empty string and a string holding only an escaped quote', () => {
    expect(kv(`'' ''''`)).toEqual([`string:''`, `string:''''`]);
  });

  it('does not treat comment markers or semicolons inside a string as such', () => {
    expect(kv(`'a -- b /* c */ ; d' x`)).toEqual([`string:'a -- b /* c */ ; d'`, 'word:x']);
  });

  it('reads "double", `back` and [bracket] quoted identifiers, unquoting them', () => {
    expect(kv('"My Table" `my col` [other thing]')).toEqual([
      'ident:My Table',
      'ident:my col',
      'ident:other thing',
    ]);
  });

  it('undoes doubled quotes inside double- and back-quoted identifiers', () => {
    expect(kv('"a""b" `c``d`')).toEqual(['ident:a"b', 'ident:c`d']);
  });

  it('takes everything up to ] literally inside brackets (no escapes there)', () => {
    expect(kv('[a"b`c] [x y]')).toEqual(['ident:a"b`c', 'ident:x y']);
  });

  it('records start/end offsets that slice back to the token as written', () => {
    const text = `  "q""x" 'it''s'  [b c] X'0aFF' 12.5e-3`;
    for (const t of tokenize(text)) {
      const raw = text.slice(t.start, t.end);
      expect(raw.length).toBeGreaterThan(0);
      if (t.kind === 'string' || t.kind === 'number') expect(raw).toBe(t.value);
    }
    expect(tokenize(text).map((t) => text.slice(t.start, t.end))).toEqual([`"q""x"`, `'it''s'`, '[b c]', `X'0aFF'`, '12.5e-3']);
  });

  it('skips -- line comments and /* block */ comments', () => {
    expect(kv('a -- the rest ; of the line\nb /* multi\nline ; */ c')).toEqual(['word:a', 'word:b', 'word:c']);
  });

  it('skips a line comment at the very end without a newline, and an unterminated block comment', () => {
    expect(kv('a -- trailing')).toEqual(['word:a']);
    expect(kv('a /* never closed ; b')).toEqual(['word:a']);
  });

  it('does not start a comment on a single - or /', () => {
    expect(kv('a - b / c')).toEqual(['word:a', 'punct:-', 'word:b', 'punct:/', 'word:c']);
  });

  it('reads X\'..\' and x\'..\' as blobs, lower-cased', () => {
    expect(kv(`X'0AFF' x'0aff'`)).toEqual([`blob:x'0aff'`, `blob:x'0aff'`]);
  });

  it('does not take a word ending in x followed by a string as a blob', () => {
    expect(kv(`max 'a'`)).toEqual(['word:max', `string:'a'`]);
    expect(kv(`x 'a'`)).toEqual(['word:x', `string:'a'`]);
  });

  it('reads integers, decimals, leading-dot decimals, exponents and hex as single numbers', () => {
    expect(kv('42 3.14 .5 1e10 2.5E-3 7e+2 0x1F 0XaB')).toEqual([
      'number:42',
      'number:3.14',
      'number:.5',
      'number:1e10',
      'number:2.5E-3',
      'number:7e+2',
      'number:0x1F',
      'number:0XaB',
    ]);
  });

  it('reads a minus sign before a number as an operator', () => {
    expect(kv('-1')).toEqual(['punct:-', 'number:1']);
  });

  it('reads ->>, ->, ||, and two-character comparisons as single operators', () => {
    expect(kv(`j->>'$.a' || j->'$.b'`)).toEqual([
      'word:j',
      'punct:->>',
      `string:'$.a'`,
      'punct:||',
      'word:j',
      'punct:->',
      `string:'$.b'`,
    ]);
    expect(kv('a<=b>=c==d!=e<>f<<g>>h')).toEqual([
      'word:a', 'punct:<=', 'word:b', 'punct:>=', 'word:c', 'punct:==', 'word:d',
      'punct:!=', 'word:e', 'punct:<>', 'word:f', 'punct:<<', 'word:g', 'punct:>>', 'word:h',
    ]);
  });

  it('keeps single-character operators apart', () => {
    expect(kv('a|b&c<d>e=f')).toEqual([
      'word:a', 'punct:|', 'word:b', 'punct:&', 'word:c', 'punct:<', 'word:d', 'punct:>', 'word:e', 'punct:=', 'word:f',
    ]);
  });

  it('reads parameters ?, ?1, :name, @name and $name', () => {
    expect(kv('? ?1 :name @at $dollar')).toEqual(['param:?', 'param:?1', 'param::name', 'param:@at', 'param:$dollar']);
  });

  it('reads qualified names as word . word', () => {
    expect(kv('main.t.col')).toEqual(['word:main', 'punct:.', 'word:t', 'punct:.', 'word:col']);
    expect(kv('"s"."t"')).toEqual(['ident:s', 'punct:.', 'ident:t']);
  });

  it('reads words with $, digits and non-ASCII letters', () => {
    expect(kv('a$b c9 été')).toEqual(['word:a$b', 'word:c9', 'word:été']);
  });
});

describe('canonical', () => {
  it('gives the same text for differently quoted and cased identifiers', () => {
    const spellings = ['name', 'NAME', '"name"', '"Name"', '`NaMe`', '[NAME]'];
    const texts = spellings.map(canon);
    for (const t of texts) expect(t).toBe('name');
  });

  it('gives the same text for a whole expression however it is spelled', () => {
    const a = canon('lower( "Title" )  ||  [Slug]');
    const b = canon('LOWER(title)||slug');
    const c = canon('/* c */ Lower (\n  `TITLE`\n) -- x\n || "slug"');
    expect(a).toBe('lower ( title ) || slug');
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('keeps names that need quoting quoted, whichever quote was used', () => {
    expect(canon('"My Col"')).toBe('"my col"');
    expect(canon('[My Col]')).toBe('"my col"');
    expect(canon('`My Col`')).toBe('"my col"');
    expect(canon('"a""B"')).toBe('"a""b"');
  });

  it('does not fold the case of string literals', () => {
    expect(canon(`'ABC'`)).not.toBe(canon(`'abc'`));
    expect(canon(`x = 'It''s'`)).toBe(`x = 'It''s'`);
  });

  it('tells different expressions apart', () => {
    expect(canon('a + b')).not.toBe(canon('a - b'));
    expect(canon('a || b')).not.toBe(canon('a | | b'));
    expect(canon(`j ->> '$.a'`)).not.toBe(canon(`j -> '$.a'`));
    expect(canon('"a b"')).not.toBe(canon('a b'));
  });

  it('folds only ASCII letters, as SQLite does', () => {
    expect(foldCase('ÉCOLE')).toBe('École');
    expect(canon('"É"')).not.toBe(canon('"é"'));
  });

  it('canonicalExpr strips any number of wrapping parentheses, but not partial ones', () => {
    expect(canonicalExpr('((a > 0))')).toBe('a > 0');
    expect(canonicalExpr('(a) + (b)')).toBe('( a ) + ( b )');
    expect(canonicalExpr(`( 'x' )`)).toBe(`'x'`);
  });
});

describe('paren helpers', () => {
  it('matchParen finds the matching close, skipping parens in strings', () => {
    const toks = tokenize(`f(a, g(b, ')'), c) + 1`);
    const close = matchParen(toks, 1);
    expect(toks[close]!.value).toBe(')');
    expect(toks[close + 1]!.value).toBe('+');
  });

  it('stripOuterParens leaves (a) + (b) alone', () => {
    const toks = tokenize('(a) + (b)');
    expect(stripOuterParens(toks)).toHaveLength(toks.length);
  });

  it('splitTopLevel splits on commas outside parentheses only', () => {
    const parts = splitTopLevel(tokenize(`a INT DEFAULT (1, 2), b TEXT CHECK (b IN ('x', 'y')), c`));
    expect(parts.map((p: Token[]) => p[0]!.value)).toEqual(['a', 'b', 'c']);
  });
});

describe('splitStatements', () => {
  it('splits on top-level semicolons and drops empty statements', () => {
    expect(splitStatements('CREATE TABLE a(x);; CREATE TABLE b(y) ;\n')).toEqual(['CREATE TABLE a(x)', 'CREATE TABLE b(y)']);
  });

  it('keeps the last statement without a trailing semicolon', () => {
    expect(splitStatements('SELECT 1; SELECT 2')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('ignores semicolons in strings, quoted names and comments', () => {
    const sql = `INSERT INTO t VALUES ('a;b'); -- x; y\nCREATE TABLE "we;ird"(x) /* ; */; SELECT 3`;
    expect(splitStatements(sql)).toEqual([`INSERT INTO t VALUES ('a;b')`, 'CREATE TABLE "we;ird"(x)', 'SELECT 3']);
  });

  it('keeps CREATE TRIGGER … BEGIN …; …; END whole', () => {
    const trigger = `CREATE TRIGGER trg AFTER INSERT ON t BEGIN
  INSERT INTO log VALUES (new.id);
  UPDATE t SET n = n + 1 WHERE id = new.id;
END`;
    const sql = `CREATE TABLE t(id, n);\n${trigger};\nCREATE INDEX i ON t(n);`;
    expect(splitStatements(sql)).toEqual(['CREATE TABLE t(id, n)', trigger, 'CREATE INDEX i ON t(n)']);
  });

  it('keeps a trigger whole when its body holds a CASE … END', () => {
    const trigger = `CREATE TRIGGER trg AFTER UPDATE ON t BEGIN
  UPDATE t SET label = CASE WHEN new.n > 0 THEN 'pos' ELSE 'neg' END WHERE id = new.id;
  INSERT INTO log VALUES (CASE new.n WHEN 0 THEN 'zero' END);
END`;
    expect(splitStatements(`${trigger}; SELECT 1;`)).toEqual([trigger, 'SELECT 1']);
  });

  it('keeps a trigger whole when its WHEN clause holds a CASE … END', () => {
    const trigger = `create temp trigger if not exists trg before delete on t when case when old.n > 0 then 1 else 0 end begin select raise(abort, 'no; never'); end`;
    expect(splitStatements(`${trigger};select 2`)).toEqual([trigger, 'select 2']);
  });

  it('splits statements that follow a trigger correctly (a CASE outside a trigger changes nothing)', () => {
    const sql = `SELECT CASE WHEN 1 THEN 2 END; SELECT 3;`;
    expect(splitStatements(sql)).toEqual(['SELECT CASE WHEN 1 THEN 2 END', 'SELECT 3']);
  });

  // Product bug: END and BEGIN are fallback keywords, so SQLite accepts bare columns named `end`
  // and `begin`. splitStatements counts them as block delimiters and cuts the trigger in two:
  // ['CREATE TRIGGER … SET end = 1 WHERE id = new.id', 'END', 'SELECT 1'].
  // SQLite's own sqlite3_complete() only ends a trigger at `; END ;`.
  it('keeps a trigger whole when its body uses a bare column named end', async () => {
    const { default: Database } = await import('better-sqlite3');
    const trigger = 'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET end = 1 WHERE id = new.id; END';
    const script = `CREATE TABLE t(id, end); ${trigger}; SELECT 1`;
    // SQLite itself accepts the script: the test is about the splitter only.
    const db = new Database(':memory:');
    db.exec(script);
    db.close();
    expect(splitStatements(script)).toEqual(['CREATE TABLE t(id, end)', trigger, 'SELECT 1']);
  });

  it('gives every statement to SQLite intact (round-trip through a real database)', async () => {
    const { default: Database } = await import('better-sqlite3');
    const script = `CREATE TABLE t(id INTEGER PRIMARY KEY, n INT, label TEXT);
CREATE TABLE log(msg TEXT);
CREATE TRIGGER trg AFTER UPDATE ON t BEGIN
  INSERT INTO log VALUES ('n; was ' || old.n);
  UPDATE t SET label = CASE WHEN new.n > 0 THEN 'pos' ELSE 'neg' END WHERE id = new.id AND label IS NOT (CASE WHEN new.n > 0 THEN 'pos' ELSE 'neg' END);
END;
INSERT INTO t(id, n) VALUES (1, 0);
UPDATE t SET n = 5 WHERE id = 1;`;
    const db = new Database(':memory:');
    try {
      const stmts = splitStatements(script);
      expect(stmts).toHaveLength(5);
      for (const s of stmts) db.prepare(s).run();
      expect(db.prepare('SELECT label FROM t').pluck().get()).toBe('pos');
      expect(db.prepare('SELECT msg FROM log ORDER BY rowid').pluck().all()).toEqual(['n; was 0']);
    } finally {
      db.close();
    }
  });
});

describe('quoteIdent / quoteString', () => {
  it('quotes a plain name', () => {
    expect(quoteIdent('users')).toBe('"users"');
  });

  it('doubles quotes inside a name, and the result tokenizes back to the name', () => {
    for (const name of ['a"b', '"', '""x""', 'with space', 'semi;colon', '[br]', "it's"]) {
      const q = quoteIdent(name);
      const toks = tokenize(q);
      expect(toks).toHaveLength(1);
      expect(toks[0]!.kind).toBe('ident');
      expect(toks[0]!.value).toBe(name);
    }
    expect(quoteIdent('a"b')).toBe('"a""b"');
  });

  it('produces names SQLite accepts and reports back unchanged', async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    try {
      const table = 'we"ird ta;ble';
      const col = 'co"l';
      db.exec(`CREATE TABLE ${quoteIdent(table)}(${quoteIdent(col)} TEXT)`);
      db.prepare(`INSERT INTO ${quoteIdent(table)} VALUES (${quoteString("it's")})`).run();
      expect(db.prepare('SELECT name FROM sqlite_schema').pluck().get()).toBe(table);
      expect(db.prepare(`SELECT ${quoteIdent(col)} FROM ${quoteIdent(table)}`).pluck().get()).toBe("it's");
    } finally {
      db.close();
    }
  });

  it('quoteString doubles single quotes', () => {
    expect(quoteString("it's")).toBe("'it''s'");
    expect(nameOf(tokenize(quoteString("a''b"))[0]!)).toBe("a''b");
  });
});
