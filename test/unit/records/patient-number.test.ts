import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSitePattern, extractPatientNumbers, isSamePerson, isVnymdOrder, nameKey, parseVnymd, type SitePattern } from '../../../src/domain/patient-number.ts';

function pattern(source: string, groups: number): SitePattern {
  const check = compileSitePattern(source, groups);
  assert.ok(check.ok, `pattern ${source} should compile`);
  return check.pattern;
}

describe('patient number extraction', () => {
  const cases: { pattern: string; values: string[]; expected: string[] }[] = [
    { pattern: '([0-9]+)', values: ['12345'], expected: ['12345'] },
    { pattern: '([0-9]+)', values: ['PVS-00123'], expected: ['00123'] },
    { pattern: '([0-9]+)', values: ['A12B34'], expected: ['12'] },
    { pattern: '([0-9]+)', values: ['NOBODY'], expected: [] },
    { pattern: '([0-9]+)', values: [''], expected: [] },
    { pattern: '^PVS-([0-9]{1,8})$', values: ['PVS-42'], expected: ['42'] },
    { pattern: '^PVS-([0-9]{1,8})$', values: ['XPVS-42'], expected: [] },
    { pattern: '^PVS-([0-9]{1,8})$', values: ['PVS-123456789'], expected: [] },
    { pattern: '(?i)^pat[-_ ]?([0-9]+)', values: ['Pat_77'], expected: ['77'] },
    { pattern: '^([A-Z]{2}[0-9]{4})', values: ['AB1234-x'], expected: ['AB1234'] },
    { pattern: '([0-9]+)', values: ['12', '12', 'x'], expected: ['12'] },
    { pattern: '([0-9]+)', values: ['12', '13'], expected: ['12', '13'] },
    { pattern: '([0-9]+)?x', values: ['x'], expected: [] },
    { pattern: '^\\s*([0-9]+)\\s*$', values: ['  7  '], expected: ['7'] },
  ];
  for (const c of cases) {
    test(`${c.pattern} on ${JSON.stringify(c.values)} → ${JSON.stringify(c.expected)}`, () => {
      assert.deepEqual(extractPatientNumbers(pattern(c.pattern, 1), c.values), c.expected);
    });
  }
});

describe('pattern checks', () => {
  const bad: { source: string; groups: number; message: RegExp }[] = [
    { source: '([0-9]+', groups: 1, message: /not a valid pattern: .*missing closing \)/ },
    { source: '(?<=PVS)([0-9]+)', groups: 1, message: /not a valid pattern/ },
    { source: '([0-9]+)-\\1', groups: 1, message: /not a valid pattern/ },
    { source: '[0-9]+', groups: 1, message: /has 0 capture group\(s\); it needs exactly 1/ },
    { source: '([A-Z])([0-9]+)', groups: 1, message: /has 2 capture group\(s\)/ },
    { source: '(.+)_(.+)_([0-9]{8})', groups: 5, message: /has 3 capture group\(s\); it needs exactly 5/ },
  ];
  for (const c of bad) {
    test(`${c.source} is refused with a reason and a hint`, () => {
      const check = compileSitePattern(c.source, c.groups);
      assert.equal(check.ok, false);
      if (check.ok) return;
      assert.match(check.message, c.message);
      assert.ok(check.hint.length > 0);
    });
  }

  test('a hostile pattern runs in linear time: (a+)+$ on a long value of a and a final b finds nothing', () => {
    const hostile = pattern('(a+)+$', 1);
    assert.equal(hostile.match(`${'a'.repeat(100_000)}b`), undefined);
    assert.deepEqual(hostile.match('xaaaa'), ['aaaa']);
    const nested = pattern('^((?:a|aa)+)+c', 1);
    assert.equal(nested.match('a'.repeat(5000)), undefined);
    const star = pattern('(.*.*.*.*.*=)', 1);
    assert.equal(star.match('x'.repeat(20_000)), undefined);
  });
});

describe('VNYMD', () => {
  const defaultPattern = pattern('^([^_]+)_([^_]+)_([0-9]{4})([0-9]{2})([0-9]{2})$', 5);
  const cases: { pattern: SitePattern; order: string; value: string; expected: ReturnType<typeof parseVnymd> }[] = [
    { pattern: defaultPattern, order: 'VNYMD', value: 'Jürgen_Müller_19700301', expected: { firstName: 'Jürgen', surname: 'Müller', year: '1970', month: '03', day: '01' } },
    { pattern: defaultPattern, order: 'VNYMD', value: 'Jürgen_Müller_19701301', expected: undefined },
    { pattern: defaultPattern, order: 'VNYMD', value: 'Jürgen_Müller_19700300', expected: undefined },
    { pattern: defaultPattern, order: 'VNYMD', value: 'JürgenMüller19700301', expected: undefined },
    {
      pattern: pattern('^([^,]+),\\s*(\\S+)\\s+([0-9]{1,2})\\.([0-9]{1,2})\\.([0-9]{2,4})$', 5),
      order: 'NVDMY',
      value: 'Müller, Jürgen 1.3.1970',
      expected: { firstName: 'Jürgen', surname: 'Müller', year: '1970', month: '03', day: '01' },
    },
    {
      pattern: pattern('^([^^]+)\\^([^^]+)\\^([0-9]{2})([0-9]{2})([0-9]{2})$', 5),
      order: 'NVDMY',
      value: 'MUELLER^JUERGEN^010370',
      expected: { firstName: 'JUERGEN', surname: 'MUELLER', year: '70', month: '03', day: '01' },
    },
    { pattern: pattern('^(x*)_([^_]+)_([0-9]{4})([0-9]{2})([0-9]{2})$', 5), order: 'VNYMD', value: '_Müller_19700301', expected: undefined },
  ];
  for (const c of cases) {
    test(`${c.order} reads ${JSON.stringify(c.value)}`, () => {
      assert.deepEqual(parseVnymd(c.pattern, c.order, c.value), c.expected);
    });
  }

  test('orders name each letter once', () => {
    for (const ok of ['VNYMD', 'NVDMY', 'YMDVN']) assert.equal(isVnymdOrder(ok), true, ok);
    for (const bad of ['VNYM', 'VNYMDD', 'VVYMD', 'vnymd', 'ABCDE']) assert.equal(isVnymdOrder(bad), false, bad);
  });

  const person = { family: 'Müller-Lüdenscheidt', given: 'Jürgen Hans', birthDate: '19700301' };
  const matching: { wanted: { firstName: string; surname: string; year: string }; same: boolean }[] = [
    { wanted: { firstName: 'Jürgen Hans', surname: 'Müller-Lüdenscheidt', year: '1970' }, same: true },
    { wanted: { firstName: 'JUERGEN', surname: 'MUELLER LUEDENSCHEIDT', year: '1970' }, same: true },
    { wanted: { firstName: 'jurgen', surname: 'muller ludenscheidt', year: '70' }, same: true },
    { wanted: { firstName: 'Jürgen', surname: 'Müller-Lüdenscheidt', year: '1971' }, same: false },
    { wanted: { firstName: 'Jürgen', surname: 'Müller-Lüdenscheidt', year: '71' }, same: false },
    { wanted: { firstName: 'Hans', surname: 'Müller-Lüdenscheidt', year: '1970' }, same: false },
    { wanted: { firstName: 'Jürgen', surname: 'Müller', year: '1970' }, same: false },
  ];
  for (const m of matching) {
    test(`${m.wanted.firstName} ${m.wanted.surname} ${m.wanted.year} ${m.same ? 'is' : 'is not'} the registry's Jürgen Hans Müller-Lüdenscheidt`, () => {
      assert.equal(isSamePerson({ ...m.wanted, month: '03', day: '01' }, person), m.same);
    });
  }

  test('name keys ignore case, accents, umlaut spellings, ß and punctuation', () => {
    assert.equal(nameKey('Strauß'), nameKey('STRAUSS'));
    assert.equal(nameKey('Müller'), nameKey('Mueller'));
    assert.equal(nameKey('Müller'), nameKey('MULLER'));
    assert.equal(nameKey("O'Brien"), nameKey('obrien'));
    assert.equal(nameKey('Łukasz'), nameKey('Lukasz'));
    assert.notEqual(nameKey('Müller'), nameKey('Miller'));
  });
});
