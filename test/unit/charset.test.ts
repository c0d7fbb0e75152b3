import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseAnswerCharset, decodeText, encodeText, parseCharsetTerms, prepareAnswerText, type AnswerCharset } from '../../src/domain/charset.ts';
import { CharacterSet } from '../../src/domain/device.ts';
import { collectTexts, type DicomJson } from '../../src/domain/dicom-json.ts';
import { GatewayError } from '../../src/domain/errors.ts';
import { Tag } from '../../src/domain/mwl-attributes.ts';
import { foldText, transliterate } from '../../src/domain/transliteration.ts';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

describe('encodeText', () => {
  const cases: [string, string, string, Buffer][] = [
    ['ASCII in ISO_IR 6', 'Mueller^Juergen', CharacterSet.Ascii, Buffer.from('Mueller^Juergen', 'ascii')],
    ['umlauts in ISO_IR 100: one byte each', 'Müller^Jürgen', CharacterSet.Latin1, bytes(0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x5e, 0x4a, 0xfc, 0x72, 0x67, 0x65, 0x6e)],
    ['ß in ISO_IR 100', 'Weiß', CharacterSet.Latin1, bytes(0x57, 0x65, 0x69, 0xdf)],
    ['umlauts in ISO_IR 192: two bytes each', 'Müller', CharacterSet.Utf8, bytes(0x4d, 0xc3, 0xbc, 0x6c, 0x6c, 0x65, 0x72)],
    ['decomposed ü (NFD) is composed for Latin-1', 'Mu\u0308ller', CharacterSet.Latin1, bytes(0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72)],
    ['misspelled term ISO_IR100', 'ä', 'ISO_IR100', bytes(0xe4)],
    ['ISO 2022 IR 100 without escapes', 'ä', 'ISO 2022 IR 100', bytes(0xe4)],
  ];
  for (const [label, text, charset, expected] of cases) {
    test(label, () => assert.deepEqual(encodeText(text, charset), expected));
  }

  const refusals: [string, string, string][] = [
    ['Ł in Latin-1', 'Łukasz', CharacterSet.Latin1],
    ['Cyrillic in Latin-1', 'Иванов', CharacterSet.Latin1],
    ['umlaut in ASCII', 'Müller', CharacterSet.Ascii],
    ['€ in Latin-1 (only in Windows-1252)', '€', CharacterSet.Latin1],
    ['unsupported set', 'x', 'ISO_IR 144'],
  ];
  for (const [label, text, charset] of refusals) {
    test(`never garbles: ${label} throws`, () => {
      assert.throws(() => encodeText(text, charset), (err: unknown) => err instanceof GatewayError && err.code === 'invalid');
    });
  }
});

describe('decodeText', () => {
  const cases: [string, Buffer, string | string[] | undefined, string][] = [
    ['no character set, ASCII', Buffer.from('Smith^John'), undefined, 'Smith^John'],
    ['no character set, undeclared Latin-1 bytes read as Latin-1', bytes(0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72), undefined, 'Müller'],
    ['ISO_IR 100', bytes(0x57, 0x65, 0x69, 0xdf), 'ISO_IR 100', 'Weiß'],
    ['ISO_IR 100, 0x80-0x9F stay C1 controls (not Windows-1252)', bytes(0x80), 'ISO_IR 100', '\u0080'],
    ['ISO_IR 192', Buffer.from('Dvořák^Antonín', 'utf8'), 'ISO_IR 192', 'Dvořák^Antonín'],
    ['ISO_IR 192 with Latin-1 bytes falls back to Latin-1', bytes(0x4d, 0xfc, 0x6c), 'ISO_IR 192', 'Mül'],
    ['ISO_IR 192 as a list', Buffer.from('Łukasz', 'utf8'), ['ISO_IR 192'], 'Łukasz'],
    ['ISO_IR 101 (Latin-2)', bytes(0xa3, 0x75, 0x6b, 0x61, 0x73, 0x7a), 'ISO_IR 101', 'Łukasz'],
    ['ISO_IR 144 (Cyrillic)', bytes(0xb8, 0xd2, 0xd0, 0xdd, 0xde, 0xd2), 'ISO_IR 144', 'Иванов'],
    ['GB18030', bytes(0xd5, 0xc5, 0xc8, 0xfd), 'GB18030', '张三'],
    // PS3.5 H.3.1 example: Yamada^Tarou=山田^太郎=やまだ^たろう
    [
      'ISO 2022 Japanese (PS3.5 H.3.1)',
      bytes(
        0x59, 0x61, 0x6d, 0x61, 0x64, 0x61, 0x5e, 0x54, 0x61, 0x72, 0x6f, 0x75, 0x3d,
        0x1b, 0x24, 0x42, 0x3b, 0x33, 0x45, 0x44, 0x1b, 0x28, 0x42, 0x5e, 0x1b, 0x24, 0x42, 0x42, 0x40, 0x4f, 0x3a, 0x1b, 0x28, 0x42, 0x3d,
        0x1b, 0x24, 0x42, 0x24, 0x64, 0x24, 0x5e, 0x24, 0x40, 0x1b, 0x28, 0x42, 0x5e, 0x1b, 0x24, 0x42, 0x24, 0x3f, 0x24, 0x6d, 0x24, 0x26, 0x1b, 0x28, 0x42,
      ),
      ['', 'ISO 2022 IR 87'],
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
    ],
    ['ISO 2022 IR 100 with an escape to Latin-1', bytes(0x1b, 0x2d, 0x41, 0xe4), ['ISO 2022 IR 100'], 'ä'],
    ['ISO 2022: escape to Cyrillic, back to value 1 after ^', bytes(0x1b, 0x2d, 0x4c, 0xb8, 0x5e, 0xe4), ['ISO 2022 IR 100', 'ISO 2022 IR 144'], 'И^ä'],
  ];
  for (const [label, input, charset, expected] of cases) {
    test(label, () => assert.equal(decodeText(input, charset), expected));
  }

  test('an unknown character set is an error naming (0008,0005)', () => {
    assert.throws(() => decodeText(bytes(0x41), 'ISO_IR 999'), (err: unknown) => err instanceof GatewayError && err.issues[0]?.path === '(0008,0005)');
  });

  test('round trips through our answer character sets', () => {
    const texts = ['Müller^Jürgen', 'Weiß^Anna^^Dr.', 'Ærø', 'plain', 'Çağlar'];
    for (const text of texts) {
      assert.equal(decodeText(encodeText(text, CharacterSet.Utf8), CharacterSet.Utf8), text);
      const latin = transliterate(text, 'latin1').text;
      assert.equal(decodeText(encodeText(latin, CharacterSet.Latin1), CharacterSet.Latin1), latin);
      const ascii = transliterate(text, 'ascii').text;
      assert.equal(decodeText(encodeText(ascii, CharacterSet.Ascii), undefined), ascii);
    }
    assert.equal(decodeText(encodeText('Müller', CharacterSet.Latin1), 'ISO_IR 100'), 'Müller');
  });

  test('parseCharsetTerms', () => {
    assert.deepEqual(parseCharsetTerms(undefined), []);
    assert.deepEqual(parseCharsetTerms('ISO_IR 100 '), ['ISO_IR 100']);
    assert.deepEqual(parseCharsetTerms('\\ISO 2022 IR 87'), ['', 'ISO 2022 IR 87']);
    assert.deepEqual(parseCharsetTerms(['ISO_IR 192', null, '']), ['ISO_IR 192']);
  });
});

describe('transliteration', () => {
  const latin1: [string, string][] = [
    ['Müller^Jürgen', 'Müller^Jürgen'],
    ['Łukasz^Wałęsa', 'Lukasz^Walesa'],
    ['Dvořák^Antonín', 'Dvorák^Antonín'], // á is Latin-1: it stays
    ['Иванов^Пётр', 'Ivanov^Petr'],
    ['Щукин', 'Shchukin'],
    ['Παπαδόπουλος', 'Papadopoulos'],
    ['Œuvre “quoted” – dash', 'OEuvre "quoted" - dash'],
    ['Çağlar Şahin', 'Çaglar Sahin'],
  ];
  for (const [input, expected] of latin1) {
    test(`to Latin-1: ${input} → ${expected}`, () => {
      const result = transliterate(input, 'latin1');
      assert.equal(result.text, expected);
      assert.equal(result.complete, true);
    });
  }
  const ascii: [string, string][] = [
    ['Müller^Jürgen', 'Mueller^Juergen'],
    ['MÜLLER', 'MUELLER'],
    ['Übel', 'Uebel'],
    ['Weiß', 'Weiss'],
    ['Dvořák', 'Dvorak'],
    ['Ørsted', 'Orsted'],
  ];
  for (const [input, expected] of ascii) {
    test(`to ASCII: ${input} → ${expected}`, () => assert.equal(transliterate(input, 'ascii').text, expected));
  }
  test('no spelling known: incomplete, characters kept', () => {
    assert.deepEqual(transliterate('张三', 'latin1'), { text: '张三', complete: false, changed: false });
  });
  test('name folding for matching', () => {
    const all = { ignoreCase: true, ignoreAccents: true, foldDigraphs: true };
    for (const spelling of ['Müller', 'MÜLLER', 'Mueller', 'MUELLER', 'Muller', 'mu\u0308ller']) assert.equal(foldText(spelling, all), 'muller', spelling);
    assert.equal(foldText('Strauß', all), 'strauss');
    assert.equal(foldText('Łódź', all), 'lodz');
    assert.equal(foldText('Müller', { ...all, ignoreCase: false }), 'Muller');
    assert.equal(foldText('Mueller', { ...all, foldDigraphs: false }), 'mueller');
    assert.equal(foldText('Müller', { ignoreCase: true, ignoreAccents: false, foldDigraphs: true }), 'müller');
  });
});

describe('chooseAnswerCharset', () => {
  const latin1 = CharacterSet.Latin1;
  const utf8 = CharacterSet.Utf8;
  const ascii = CharacterSet.Ascii;
  const cases: [string, CharacterSet, string | string[] | undefined, string[], 'transliterate' | 'utf8' | undefined, AnswerCharset][] = [
    ['plain ASCII: (0008,0005) left out', latin1, undefined, ['Smith^John', 'US'], undefined, { charset: latin1, specificCharacterSet: undefined, transliterate: undefined, fellBackToUtf8: false }],
    ['umlauts, default device: ISO_IR 100', latin1, undefined, ['Müller^Jürgen'], undefined, { charset: latin1, specificCharacterSet: 'ISO_IR 100', transliterate: undefined, fellBackToUtf8: false }],
    ['umlauts, UTF-8 device', utf8, undefined, ['Müller^Jürgen'], undefined, { charset: utf8, specificCharacterSet: 'ISO_IR 192', transliterate: undefined, fellBackToUtf8: false }],
    ['umlauts, Latin-1 device asking in ISO_IR 192', latin1, 'ISO_IR 192', ['Müller^Jürgen'], undefined, { charset: utf8, specificCharacterSet: 'ISO_IR 192', transliterate: undefined, fellBackToUtf8: false }],
    ['Polish name, Latin-1 device, transliterate', latin1, undefined, ['Łukasz^Nowak', 'Müller'], 'transliterate', { charset: latin1, specificCharacterSet: 'ISO_IR 100', transliterate: 'latin1', fellBackToUtf8: false }],
    ['Polish name only: ASCII after transliteration', latin1, undefined, ['Łukasz^Nowak'], 'transliterate', { charset: latin1, specificCharacterSet: undefined, transliterate: 'latin1', fellBackToUtf8: false }],
    ['Polish name, Latin-1 device, utf8 policy', latin1, undefined, ['Łukasz^Nowak'], 'utf8', { charset: utf8, specificCharacterSet: 'ISO_IR 192', transliterate: undefined, fellBackToUtf8: true }],
    ['Chinese name cannot be spelled: UTF-8 for this answer', latin1, undefined, ['张三'], 'transliterate', { charset: utf8, specificCharacterSet: 'ISO_IR 192', transliterate: undefined, fellBackToUtf8: true }],
    ['ASCII device: umlauts transliterated', ascii, undefined, ['Müller'], undefined, { charset: ascii, specificCharacterSet: undefined, transliterate: 'ascii', fellBackToUtf8: false }],
    ['ASCII device asking in ISO_IR 100', ascii, 'ISO_IR 100', ['Müller'], undefined, { charset: latin1, specificCharacterSet: 'ISO_IR 100', transliterate: undefined, fellBackToUtf8: false }],
  ];
  for (const [label, device, query, texts, policy, expected] of cases) {
    test(label, () => assert.deepEqual(chooseAnswerCharset(device, query, texts, policy), expected));
  }
});

describe('prepareAnswerText', () => {
  const answer: DicomJson = {
    [Tag.SpecificCharacterSet]: { vr: 'CS', Value: ['ISO_IR 192'] },
    [Tag.PatientName]: { vr: 'PN', Value: [{ Alphabetic: 'Dvořák^Łukasz' }] },
    [Tag.PatientID]: { vr: 'LO', Value: ['PID-1'] },
    [Tag.ScheduledProcedureStepSequence]: { vr: 'SQ', Value: [{ [Tag.ScheduledProcedureStepDescription]: { vr: 'LO', Value: ['Sonographie Schädel'] } }] },
  };

  test('Latin-1 device: names transliterated, umlauts kept, (0008,0005) ISO_IR 100, every text encodable', () => {
    const prepared = prepareAnswerText(answer, CharacterSet.Latin1, undefined);
    assert.equal(prepared.charset, CharacterSet.Latin1);
    assert.deepEqual(prepared.dataset[Tag.SpecificCharacterSet], { vr: 'CS', Value: ['ISO_IR 100'] });
    assert.deepEqual(prepared.dataset[Tag.PatientName], { vr: 'PN', Value: [{ Alphabetic: 'Dvorák^Lukasz' }] });
    const step = prepared.dataset[Tag.ScheduledProcedureStepSequence]!.Value![0] as DicomJson;
    assert.deepEqual(step[Tag.ScheduledProcedureStepDescription], { vr: 'LO', Value: ['Sonographie Schädel'] });
    assert.equal(encodeText('Sonographie Schädel', prepared.charset).at(-4), 0xe4);
    for (const text of collectTexts(prepared.dataset)) assert.doesNotThrow(() => encodeText(text, prepared.charset), text);
    assert.throws(() => encodeText('Dvořák', prepared.charset), 'the original would not have been encodable');
    assert.deepEqual(answer[Tag.PatientName], { vr: 'PN', Value: [{ Alphabetic: 'Dvořák^Łukasz' }] }, 'input left alone');
  });

  test('UTF-8 device: text unchanged, (0008,0005) ISO_IR 192', () => {
    const prepared = prepareAnswerText(answer, CharacterSet.Utf8, undefined);
    assert.deepEqual(prepared.dataset[Tag.PatientName], answer[Tag.PatientName]);
    assert.deepEqual(prepared.dataset[Tag.SpecificCharacterSet], { vr: 'CS', Value: ['ISO_IR 192'] });
  });

  test('all ASCII: (0008,0005) removed', () => {
    const prepared = prepareAnswerText({ [Tag.SpecificCharacterSet]: { vr: 'CS', Value: ['ISO_IR 100'] }, [Tag.PatientID]: { vr: 'LO', Value: ['P1'] } }, CharacterSet.Latin1, undefined);
    assert.deepEqual(prepared.dataset, { [Tag.PatientID]: { vr: 'LO', Value: ['P1'] } });
  });
});
