/**
 * Modality Worklist C-FIND matching (PS3.4 C.2.2.2 and K.6): whether a worklist item matches a query
 * identifier, and the answer identifier to send for it.
 *
 * Use `compileQuery` once per C-FIND request and call `matches`/`answer` per candidate: all parsing,
 * validation and pattern compilation happen once. One answer per Scheduled Procedure Step is the
 * caller's job: pass candidates whose ScheduledProcedureStepSequence (0040,0100) holds a single item
 * (`splitScheduledSteps` makes them from an item with several steps).
 *
 * Rules:
 * - Universal matching: a key that is absent, zero length, or (for the VRs that allow wildcards, and
 *   leniently for all) a lone `*` matches every item, an item without the attribute too.
 * - Single value matching: whole-value comparison, case-sensitive except PN. PN compares each
 *   component group given in the key (Alphabetic, Ideographic, Phonetic) with the same group of the
 *   item, by default ignoring case and accents and folding German spellings, so that `MÜLLER*`,
 *   `müller*`, `MULLER*` and `MUELLER*` all find `Müller^Jürgen` (see `foldText`). Trailing empty
 *   components and component padding do not count; a trailing `^*` also matches a missing component.
 * - Wildcards `*` (any run, `^` included) and `?` (one character) for AE, CS, LO, LT, PN, SH, ST, UC,
 *   UR, UT. In other VRs a wildcard makes the key invalid.
 * - Range matching for DA, TM, DT: `a-b`, `-b`, `a-`; a partial value spans its whole unit (TM `10`
 *   is 10:00:00-10:59:59.999999, so `08-10` ends at 10:59:59.999999). With `combineDateTime` (default)
 *   a date key and its time key (e.g. (0040,0002) and (0040,0003)) that are both given match as one
 *   datetime range (PS3.4 C.2.2.2.5.1): `20260105-20260106` with `1800-0800` is 5 Jan 18:00 to 6 Jan
 *   08:00. An item with the date but no time then matches when its day overlaps the range (items are
 *   never lost because their time is unknown).
 * - List of UID matching: a UI key with several values (`\`) matches any of them. Keys of other VRs
 *   with several values also match when any value matches (e.g. Modality `US\CT`, an extension).
 * - Multi-valued item attributes match when any of their values matches; a zero-length item value
 *   never matches a non-universal key.
 * - Sequence matching: the key's single item matches when any item of the item's sequence matches all
 *   its keys; a sequence key without item, or whose item has only universal keys, is universal.
 * - (0008,0005) Specific Character Set, (0008,0052), (0008,0201), group lengths and private
 *   attributes are not matching keys (they still come back as return keys).
 *
 * An identifier we cannot process throws a `GatewayError` with code `invalid` and one issue per
 * offending element, its `path` the element's tag as `(gggg,eeee)` (see `offendingTags`); the DICOM
 * edge answers A900 (Identifier does not match SOP Class) with the Offending Element.
 */
import {
  getItems,
  personNameGroups,
  toPersonName,
  type DicomJson,
  type DicomJsonElement,
  type PersonNameGroup,
} from './dicom-json.ts';
import { formatDate, microsPerDay, parseDate, parseDateTime, parseRange, parseTime, type Range } from './dicom-datetime.ts';
import { ErrorCode, GatewayError, type FieldIssue } from './errors.ts';
import { attributeByTag, dateTimePairs, describeTag, Tag } from './mwl-attributes.ts';
import { foldText, type FoldOptions } from './transliteration.ts';

export interface MatchOptions {
  /** How PN keys compare; every flag defaults to true. */
  personName?: Partial<FoldOptions>;
  /** Match a date key and its time key as one datetime range (default true). */
  combineDateTime?: boolean;
}

/**
 * What the database can filter on before `matches` runs: a superset filter (every item that matches
 * the query passes it; many that pass it will not match). Each field is set only when the query
 * restricts it to exact values; undefined means "no restriction from this key".
 */
export interface WorklistPrefilter {
  /** Scheduled step Modality (0008,0060) is one of these (exact, case-sensitive). */
  modalities?: string[];
  /** Scheduled Station AE Title (0040,0001) is one of these (exact). */
  stationAeTitles?: string[];
  /** Scheduled step start date (0040,0002) within these `YYYYMMDD` bounds, inclusive; an end may be open. */
  startDate?: { from?: string; to?: string };
  /** Patient ID (0010,0020), exact. */
  patientId?: string;
  /** Accession Number (0008,0050), exact. */
  accessionNumber?: string;
}

export interface CompiledQuery {
  /** Whether the candidate (a worklist item with a single scheduled step) matches every key. */
  matches(candidate: DicomJson): boolean;
  /** The answer identifier for a matching candidate: see `buildAnswer`. */
  answer(candidate: DicomJson): DicomJson;
  readonly prefilter: WorklistPrefilter;
  /** The tags (top level) whose keys restrict the match, for logs. */
  readonly matchingKeys: readonly string[];
}

type Matcher = (dataset: DicomJson) => boolean;

/** Attributes that may appear in an identifier but never restrict a match. */
const notMatchingKeys: ReadonlySet<string> = new Set([Tag.SpecificCharacterSet, '00080052', '00080201']);
const wildcardVrs: ReadonlySet<string> = new Set(['AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UR', 'UT']);
const exactVrs: ReadonlySet<string> = new Set(['AS', 'AT']);
const numberVrs: ReadonlySet<string> = new Set(['DS', 'IS', 'FL', 'FD', 'SL', 'SS', 'UL', 'US', 'SV', 'UV']);
/** Single-valued text VRs: a backslash is part of the text, and leading spaces count. */
const textVrs: ReadonlySet<string> = new Set(['LT', 'ST', 'UT', 'UR', 'UC']);

function isPrivate(tag: string): boolean {
  return (Number.parseInt(tag.slice(3, 4), 16) & 1) === 1;
}

function resolveVr(tag: string, element: DicomJsonElement): string {
  return attributeByTag(tag)?.vr ?? element.vr;
}

/** The string values of an element, split at `\` where it separates values, padding removed. */
function stringValues(element: DicomJsonElement | undefined, vr: string): string[] {
  if (element === undefined || element.Value === undefined) return [];
  const out: string[] = [];
  for (const raw of element.Value) {
    if (raw === null || raw === undefined) continue;
    const text = typeof raw === 'string' ? raw : String(raw);
    const parts = !textVrs.has(vr) && text.includes('\\') ? text.split('\\') : [text];
    for (const part of parts) {
      const v = textVrs.has(vr) ? part.trimEnd() : part.includes('\0') ? part.replace(/^[\s\0]+|[\s\0]+$/g, '') : part.trim();
      if (v !== '') out.push(v);
    }
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}

/** A test for one normalized string: equality, or an anchored pattern built from `*` and `?`. */
function compilePattern(pattern: string, fold: (s: string) => string, optionalTrailingComponents = false): (value: string) => boolean {
  if (!hasWildcard(pattern)) {
    const literal = fold(pattern);
    return (value) => value === literal;
  }
  let source = '';
  let literal = '';
  const flush = (): void => {
    source += escapeRegExp(fold(literal));
    literal = '';
  };
  for (const ch of pattern) {
    if (ch === '*' || ch === '?') {
      flush();
      source += ch === '*' ? '.*' : '.';
    } else literal += ch;
  }
  flush();
  if (optionalTrailingComponents) {
    // `Müller^*` also matches `Müller` (no given name): the trailing `^*` components are optional
    const m = /((?:\\\^\.\*)+)$/.exec(source);
    if (m !== null) source = `${source.slice(0, m.index)}(?:${m[1]!})?`;
  }
  const re = new RegExp(`^${source}$`, 'su');
  return (value) => re.test(value);
}

/** A PN component group as compared: components trimmed, trailing empty components dropped. */
function normalizePersonNameGroup(text: string): string {
  if (!text.includes('^') && text.trim() === text) return text;
  return text
    .split('^')
    .map((c) => c.trim())
    .join('^')
    .replace(/\^+$/, '');
}

interface CompileContext {
  issues: FieldIssue[];
  fold: (s: string) => string;
  combineDateTime: boolean;
  /** Enclosing sequences, for messages. */
  location: string;
}

function invalid(ctx: CompileContext, tag: string, message: string, hint?: string): undefined {
  const where = ctx.location === '' ? '' : ` (in ${ctx.location})`;
  const issue: FieldIssue = { path: `(${tag.slice(0, 4)},${tag.slice(4, 8)})`, message: `${describeTag(tag)}${where}: ${message}` };
  if (hint !== undefined) issue.hint = hint;
  ctx.issues.push(issue);
  return undefined;
}

function compilePersonName(tag: string, element: DicomJsonElement, ctx: CompileContext): Matcher | undefined {
  type GroupTest = { group: PersonNameGroup; test: (value: string) => boolean };
  const alternatives: GroupTest[][] = [];
  for (const raw of element.Value ?? []) {
    const values = typeof raw === 'string' ? raw.split('\\').map(toPersonName) : [toPersonName(raw)];
    for (const pn of values) {
      const tests: GroupTest[] = [];
      let universal = false;
      for (const group of personNameGroups) {
        const text = normalizePersonNameGroup((pn[group] ?? '').trim());
        if (text === '') continue;
        if (/^\*+$/.test(text)) {
          universal = true;
          continue;
        }
        tests.push({ group, test: compilePattern(text, ctx.fold, true) });
      }
      if (tests.length === 0) {
        if (universal) return undefined;
        continue;
      }
      alternatives.push(tests);
    }
  }
  if (alternatives.length === 0) return undefined;
  const fold = ctx.fold;
  return (dataset) => {
    const stored = dataset[tag]?.Value;
    if (stored === undefined) return false;
    for (const raw of stored) {
      const values = typeof raw === 'string' ? raw.split('\\').map(toPersonName) : [toPersonName(raw)];
      for (const pn of values) {
        for (const tests of alternatives) {
          let all = true;
          for (const { group, test } of tests) {
            const text = pn[group];
            if (text === undefined || text === '' || !test(fold(normalizePersonNameGroup(text.trim())))) {
              all = false;
              break;
            }
          }
          if (all) return true;
        }
      }
    }
    return false;
  };
}

function compileString(tag: string, vr: string, values: string[], ctx: CompileContext): Matcher | undefined {
  const tests: ((value: string) => boolean)[] = [];
  const identity = (s: string): string => s;
  for (const value of values) {
    if (/^\*+$/.test(value)) return undefined;
    if (hasWildcard(value) && !wildcardVrs.has(vr)) {
      return invalid(ctx, tag, `wildcards are not allowed in ${vr} keys (value "${value}")`);
    }
    tests.push(compilePattern(value, identity));
  }
  if (tests.length === 0) return undefined;
  return (dataset) => {
    for (const stored of stringValues(dataset[tag], vr)) for (const test of tests) if (test(stored)) return true;
    return false;
  };
}

function compileUid(tag: string, values: string[], ctx: CompileContext): Matcher | undefined {
  if (values.length === 1 && /^\*+$/.test(values[0]!)) return undefined;
  for (const value of values) {
    if (hasWildcard(value)) return invalid(ctx, tag, `wildcards are not allowed in UID keys (value "${value}")`, 'send a list of whole UIDs separated by \\');
    if (!/^[0-9]+(\.[0-9]+)*$/.test(value) || value.length > 64) return invalid(ctx, tag, `"${value}" is not a UID`);
  }
  if (values.length === 0) return undefined;
  const wanted = new Set(values);
  return (dataset) => {
    for (const stored of stringValues(dataset[tag], 'UI')) if (wanted.has(stored)) return true;
    return false;
  };
}

function compileNumber(tag: string, vr: string, element: DicomJsonElement, ctx: CompileContext): Matcher | undefined {
  const wanted: number[] = [];
  for (const raw of element.Value ?? []) {
    if (raw === null || raw === undefined || raw === '') continue;
    if (typeof raw === 'string' && /^\s*\*+\s*$/.test(raw)) return undefined;
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
    if (!Number.isFinite(n)) {
      return invalid(ctx, tag, `"${String(raw)}" is not a number; ${vr} keys allow single value matching only (no ranges, no wildcards)`);
    }
    wanted.push(n);
  }
  if (wanted.length === 0) return undefined;
  return (dataset) => {
    for (const raw of dataset[tag]?.Value ?? []) {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
      if (wanted.includes(n)) return true;
    }
    return false;
  };
}

/** Parses the ranges of a DA/TM/DT key; undefined and an issue when one is malformed. */
function parseRanges(tag: string, vr: 'DA' | 'TM' | 'DT', values: string[], ctx: CompileContext, allowReversed = false): Range[] | undefined {
  const ranges: Range[] = [];
  const forms = { DA: 'YYYYMMDD', TM: 'HH[MM[SS[.FFFFFF]]]', DT: 'YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]][&ZZXX]' } as const;
  for (const value of values) {
    if (hasWildcard(value)) return invalid(ctx, tag, `wildcards are not allowed in ${vr} keys (value "${value}")`, `use a range: ${forms[vr]}-${forms[vr]}`);
    const parsed = parseRange(vr, value);
    if (parsed === undefined) return invalid(ctx, tag, `"${value}" is not a ${vr} value or range`, `use ${forms[vr]}, or a range a-b, -b, a-`);
    if (parsed.range.lo > parsed.range.hi && !allowReversed) return invalid(ctx, tag, `range "${value}" ends before it starts`);
    ranges.push(parsed.range);
  }
  return ranges;
}

function inAny(ranges: readonly Range[], point: number): boolean {
  for (const r of ranges) if (point >= r.lo && point <= r.hi) return true;
  return false;
}

function storedPoint(vr: 'DA' | 'TM' | 'DT', text: string): number | undefined {
  if (vr === 'DA') return parseDate(text);
  return (vr === 'TM' ? parseTime(text) : parseDateTime(text))?.lo;
}

function compileDateTime(tag: string, vr: 'DA' | 'TM' | 'DT', values: string[], ctx: CompileContext): Matcher | undefined {
  if (values.some((v) => /^\*+$/.test(v))) return undefined;
  const ranges = parseRanges(tag, vr, values, ctx);
  if (ranges === undefined || ranges.length === 0) return undefined;
  return (dataset) => {
    for (const stored of stringValues(dataset[tag], vr)) {
      const point = storedPoint(vr, stored);
      if (point !== undefined && inAny(ranges, point)) return true;
    }
    return false;
  };
}

/** One matcher for a date key and its time key, both given (PS3.4 C.2.2.2.5.1). */
function compileCombinedDateTime(dateTag: string, timeTag: string, dateValue: string, timeValue: string, ctx: CompileContext): Matcher | undefined {
  const before = ctx.issues.length;
  const dates = parseRanges(dateTag, 'DA', [dateValue], ctx);
  // the time range alone may run backwards (`1800-0800` over night): only the combined one may not
  const times = parseRanges(timeTag, 'TM', [timeValue], ctx, true);
  if (ctx.issues.length > before || dates === undefined || times === undefined) return undefined;
  const d = dates[0]!;
  const t = times[0]!;
  const lo = Number.isFinite(d.lo) ? d.lo * microsPerDay + (Number.isFinite(t.lo) ? t.lo : 0) : -Infinity;
  const hi = Number.isFinite(d.hi) ? d.hi * microsPerDay + (Number.isFinite(t.hi) ? t.hi : microsPerDay - 1) : Infinity;
  if (lo > hi) {
    invalid(ctx, timeTag, `date ${dateValue} with time ${timeValue} makes a range that ends before it starts`);
    return undefined;
  }
  return (dataset) => {
    const storedTimes = stringValues(dataset[timeTag], 'TM');
    for (const storedDate of stringValues(dataset[dateTag], 'DA')) {
      const day = parseDate(storedDate);
      if (day === undefined) continue;
      const start = day * microsPerDay;
      if (storedTimes.length === 0) {
        // time unknown: the item is scheduled some time that day
        if (start <= hi && start + microsPerDay - 1 >= lo) return true;
        continue;
      }
      for (const storedTime of storedTimes) {
        const time = parseTime(storedTime);
        if (time === undefined) continue;
        const point = start + time.lo;
        if (point >= lo && point <= hi) return true;
      }
    }
    return false;
  };
}

function compileSequence(tag: string, element: DicomJsonElement, ctx: CompileContext): Matcher | undefined {
  const items = element.Value ?? [];
  if (items.length === 0) return undefined;
  if (items.length > 1) return invalid(ctx, tag, `a sequence key holds at most one item (got ${items.length})`);
  const item = items[0];
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return invalid(ctx, tag, 'the sequence item is not a dataset');
  const inner: CompileContext = { ...ctx, location: ctx.location === '' ? describeTag(tag) : `${ctx.location} > ${describeTag(tag)}` };
  const matchers = compileDataset(item as DicomJson, inner);
  if (matchers.length === 0) return undefined;
  return (dataset) => {
    for (const candidateItem of getItems(dataset, tag)) {
      let all = true;
      for (const m of matchers) {
        if (!m.test(candidateItem)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  };
}

function compileElement(tag: string, element: DicomJsonElement, ctx: CompileContext): Matcher | undefined {
  const vr = resolveVr(tag, element);
  if (vr === 'SQ') return compileSequence(tag, element, ctx);
  if (element.Value === undefined || element.Value.length === 0) return undefined;
  if (vr === 'PN') return compilePersonName(tag, element, ctx);
  if (numberVrs.has(vr)) return compileNumber(tag, vr, element, ctx);
  const values = stringValues(element, vr);
  if (values.length === 0) return undefined;
  if (vr === 'UI') return compileUid(tag, values, ctx);
  if (vr === 'DA' || vr === 'TM' || vr === 'DT') return compileDateTime(tag, vr, values, ctx);
  if (wildcardVrs.has(vr) || exactVrs.has(vr)) return compileString(tag, vr, values, ctx);
  if (values.length === 1 && /^\*+$/.test(values[0]!)) return undefined;
  return invalid(ctx, tag, `matching on VR ${vr} is not supported`, 'send it as a return key (zero length)');
}

interface KeyMatcher {
  tag: string;
  test: Matcher;
}

function compileDataset(query: DicomJson, ctx: CompileContext): KeyMatcher[] {
  const matchers: KeyMatcher[] = [];
  const consumed = new Set<string>();
  if (ctx.combineDateTime) {
    for (const [dateTag, timeTag] of dateTimePairs) {
      const date = query[dateTag];
      const time = query[timeTag];
      if (date === undefined || time === undefined) continue;
      const dateValues = stringValues(date, 'DA');
      const timeValues = stringValues(time, 'TM');
      if (dateValues.length !== 1 || timeValues.length !== 1) continue;
      if (/^\*+$/.test(dateValues[0]!) || /^\*+$/.test(timeValues[0]!)) continue;
      consumed.add(dateTag).add(timeTag);
      const test = compileCombinedDateTime(dateTag, timeTag, dateValues[0]!, timeValues[0]!, ctx);
      if (test !== undefined) matchers.push({ tag: dateTag, test });
    }
  }
  for (const tag of Object.keys(query).sort()) {
    if (consumed.has(tag) || notMatchingKeys.has(tag) || tag.endsWith('0000') || isPrivate(tag)) continue;
    if (!/^[0-9A-F]{8}$/.test(tag)) {
      ctx.issues.push({ path: tag, message: `"${tag}" is not a tag (expected 8 upper-case hex digits)` });
      continue;
    }
    const test = compileElement(tag, query[tag]!, ctx);
    if (test !== undefined) matchers.push({ tag, test });
  }
  return matchers;
}

function resolveOptions(options: MatchOptions): { fold: (s: string) => string; combineDateTime: boolean } {
  const foldOptions: FoldOptions = {
    ignoreCase: options.personName?.ignoreCase ?? true,
    ignoreAccents: options.personName?.ignoreAccents ?? true,
    foldDigraphs: options.personName?.foldDigraphs ?? true,
  };
  if (!foldOptions.ignoreCase && !foldOptions.ignoreAccents) return { fold: (s: string) => s, combineDateTime: options.combineDateTime ?? true };
  const key = `${foldOptions.ignoreCase}/${foldOptions.ignoreAccents}/${foldOptions.foldDigraphs}`;
  let cache = foldCaches.get(key);
  if (cache === undefined) {
    cache = new Map();
    foldCaches.set(key, cache);
  }
  const memo = cache;
  const fold = (s: string): string => {
    let folded = memo.get(s);
    if (folded === undefined) {
      folded = foldText(s, foldOptions);
      if (memo.size >= foldCacheLimit) memo.clear();
      memo.set(s, folded);
    }
    return folded;
  };
  return { fold, combineDateTime: options.combineDateTime ?? true };
}

/**
 * Folded person names, per set of fold options: the same names are compared query after query, and
 * folding (NFD, tables) costs more than the comparison. A pure memo, bounded.
 */
const foldCaches = new Map<string, Map<string, string>>();
const foldCacheLimit = 50_000;

/**
 * Compiles a C-FIND identifier (DICOM JSON) for matching many candidates.
 * @throws GatewayError (code `invalid`) naming every element we cannot process.
 */
export function compileQuery(query: DicomJson, options: MatchOptions = {}): CompiledQuery {
  const { fold, combineDateTime } = resolveOptions(options);
  const ctx: CompileContext = { issues: [], fold, combineDateTime, location: '' };
  const matchers = compileDataset(query, ctx);
  if (ctx.issues.length > 0) {
    throw new GatewayError(ErrorCode.Invalid, `worklist query cannot be processed: ${ctx.issues.map((i) => i.message).join('; ')}`, {
      issues: ctx.issues,
      publicDetail: `cannot process key ${ctx.issues.map((i) => i.path).join(' ')}`,
    });
  }
  const tests = matchers.map((m) => m.test);
  return {
    matches(candidate) {
      for (const test of tests) if (!test(candidate)) return false;
      return true;
    },
    answer(candidate) {
      return buildAnswer(query, candidate);
    },
    prefilter: extractPrefilterUnchecked(query),
    matchingKeys: matchers.map((m) => m.tag),
  };
}

/** One-off form of `compileQuery(query, options).matches(candidate)`. */
export function matches(query: DicomJson, candidate: DicomJson, options: MatchOptions = {}): boolean {
  return compileQuery(query, options).matches(candidate);
}

/**
 * The answer identifier for `candidate`: every key of the query, with the candidate's value (zero
 * length when it has none), and nothing else. A sequence key with an item gives one answer item per
 * candidate item, each holding the keys of the query's item (recursively); a sequence key without
 * item gives the candidate's whole sequence. (0008,0005) is left out: the caller sets it for the
 * character set it answers in (`prepareAnswerText` in charset.ts). Values are copies.
 */
export function buildAnswer(query: DicomJson, candidate: DicomJson): DicomJson {
  const answer: DicomJson = {};
  for (const tag of Object.keys(query).sort()) {
    if (tag === Tag.SpecificCharacterSet || tag.endsWith('0000')) continue;
    const key = query[tag]!;
    const stored = candidate[tag];
    const vr = stored?.vr ?? attributeByTag(tag)?.vr ?? key.vr;
    if (vr === 'SQ') {
      const queryItem = key.Value?.[0];
      const items = getItems(candidate, tag);
      if (items.length === 0) answer[tag] = { vr };
      else if (queryItem === null || typeof queryItem !== 'object') answer[tag] = { vr, Value: structuredClone(items) };
      else answer[tag] = { vr, Value: items.map((item) => buildAnswer(queryItem as DicomJson, item)) };
      continue;
    }
    const element: DicomJsonElement = { vr };
    if (stored !== undefined) {
      if (stored.Value !== undefined && stored.Value.length > 0) element.Value = structuredClone(stored.Value);
      if (stored.InlineBinary !== undefined) element.InlineBinary = stored.InlineBinary;
      if (stored.BulkDataURI !== undefined) element.BulkDataURI = stored.BulkDataURI;
    }
    answer[tag] = element;
  }
  return answer;
}

/**
 * One candidate per Scheduled Procedure Step: copies of `item`, each with a single-item
 * ScheduledProcedureStepSequence (0040,0100). An item without steps gives itself.
 */
export function splitScheduledSteps(item: DicomJson): DicomJson[] {
  const steps = getItems(item, Tag.ScheduledProcedureStepSequence);
  if (steps.length <= 1) return [item];
  return steps.map((step) => ({ ...item, [Tag.ScheduledProcedureStepSequence]: { vr: 'SQ', Value: [step] } }));
}

/** Exact values of a key, or undefined when it is universal or uses wildcards. */
function exactValues(element: DicomJsonElement | undefined, vr: string): string[] | undefined {
  const values = stringValues(element, vr);
  if (values.length === 0 || values.some(hasWildcard)) return undefined;
  return values;
}

function extractPrefilterUnchecked(query: DicomJson): WorklistPrefilter {
  const prefilter: WorklistPrefilter = {};
  const stepItems = query[Tag.ScheduledProcedureStepSequence]?.Value;
  const step = stepItems?.length === 1 && stepItems[0] !== null && typeof stepItems[0] === 'object' ? (stepItems[0] as DicomJson) : undefined;
  if (step !== undefined) {
    const modalities = exactValues(step[Tag.Modality], 'CS');
    if (modalities !== undefined) prefilter.modalities = modalities;
    const stations = exactValues(step[Tag.ScheduledStationAETitle], 'AE');
    if (stations !== undefined) prefilter.stationAeTitles = stations;
    const dates = stringValues(step[Tag.ScheduledProcedureStepStartDate], 'DA');
    if (dates.length > 0 && !dates.some(hasWildcard)) {
      let lo = Infinity;
      let hi = -Infinity;
      let ok = true;
      for (const value of dates) {
        const parsed = parseRange('DA', value);
        if (parsed === undefined) ok = false;
        else {
          lo = Math.min(lo, parsed.range.lo);
          hi = Math.max(hi, parsed.range.hi);
        }
      }
      if (ok && (Number.isFinite(lo) || Number.isFinite(hi))) {
        const startDate: { from?: string; to?: string } = {};
        if (Number.isFinite(lo)) startDate.from = formatDate(lo);
        if (Number.isFinite(hi)) startDate.to = formatDate(hi);
        prefilter.startDate = startDate;
      }
    }
  }
  const patientIds = exactValues(query[Tag.PatientID], 'LO');
  if (patientIds?.length === 1) prefilter.patientId = patientIds[0]!;
  const accessions = exactValues(query[Tag.AccessionNumber], 'SH');
  if (accessions?.length === 1) prefilter.accessionNumber = accessions[0]!;
  return prefilter;
}

/**
 * The database pre-filter of a query (see `WorklistPrefilter`): a superset, so run `matches` on what
 * it selects. Validates the query like `compileQuery` (throws the same `GatewayError`).
 */
export function extractPrefilter(query: DicomJson, options: MatchOptions = {}): WorklistPrefilter {
  return compileQuery(query, options).prefilter;
}

/** The tags (8 hex digits) named by the issues of a matching error: the DICOM Offending Element list. */
export function offendingTags(error: GatewayError): string[] {
  const tags: string[] = [];
  for (const issue of error.issues) {
    const m = /^\((\p{Hex_Digit}{4}),(\p{Hex_Digit}{4})\)$/u.exec(issue.path);
    if (m !== null) {
      const tag = `${m[1]}${m[2]}`.toUpperCase();
      if (!tags.includes(tag)) tags.push(tag);
    }
  }
  return tags;
}

