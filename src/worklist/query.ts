import type { StepCandidateFilter, WorklistRepository } from '../db/index.ts';
import { prepareAnswerText, UnmappablePolicy, type AnswerCharset } from '../domain/charset.ts';
import { CharacterSet, type Device } from '../domain/device.ts';
import type { DicomJson } from '../domain/dicom-json.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { Tag } from '../domain/mwl-attributes.ts';
import { compileQuery, type MatchOptions } from '../domain/worklist-matching.ts';
import { StepStatus } from '../domain/worklist-item.ts';
import { keywordsToDicomJson } from './dicom-json.ts';
import { itemKeywords } from './representation.ts';

export interface WorklistQueryDeps {
  repository: WorklistRepository;
  maxResults: number;
  offerInProgress: boolean;
  personNameMatching: 'fuzzy' | 'exact';
}

/** Who asks: the listener fills this from the association. */
export interface WorklistAsker {
  callingAeTitle: string;
  /** The alias called, which selects that partition of the worklist; undefined: our main AE title. */
  calledAlias: string | undefined;
  device: Device | undefined;
}

/** One answer: the identifier, in the character set chosen for it. */
export interface WorklistAnswer extends AnswerCharset {
  dataset: DicomJson;
}

export class TooManyMatches extends GatewayError {
  constructor(limit: number) {
    super(ErrorCode.Unavailable, `more than ${limit} matches; narrow the query`, { publicDetail: `too many matches: the first ${limit} were sent` });
    this.name = 'TooManyMatches';
  }
}

/**
 * Modality Worklist C-FIND, apart from the network: which steps a device sees for a query, as answer
 * identifiers in the character set it understands. One answer per matching step. Throws (before the
 * first answer) a `GatewayError` `invalid` naming the offending elements; after `maxResults` answers,
 * `TooManyMatches`.
 */
export class WorklistQuery {
  readonly #deps: WorklistQueryDeps;
  readonly #options: MatchOptions;

  constructor(deps: WorklistQueryDeps) {
    this.#deps = deps;
    const fuzzy = deps.personNameMatching === 'fuzzy';
    this.#options = { personName: { ignoreCase: fuzzy, ignoreAccents: fuzzy, foldDigraphs: fuzzy } };
  }

  *answers(identifier: DicomJson, asker: WorklistAsker): Generator<WorklistAnswer> {
    const query = compileQuery(identifier, this.#options);
    const filter = this.#filter(query.prefilter, asker);
    if (filter === undefined) return;
    const deviceCharset = asker.device?.characterSet ?? CharacterSet.Latin1;
    const queryCharset = identifier[Tag.SpecificCharacterSet]?.Value as string[] | undefined;
    let sent = 0;
    for (const item of this.#deps.repository.stepCandidates(filter)) {
      const candidate = keywordsToDicomJson(itemKeywords(item));
      if (!query.matches(candidate)) continue;
      if (sent === this.#deps.maxResults) throw new TooManyMatches(this.#deps.maxResults);
      sent++;
      yield prepareAnswerText(query.answer(candidate), deviceCharset, queryCharset, UnmappablePolicy.Transliterate);
    }
  }

  /**
   * The database filter: the query's exact keys, narrowed by what the device may see (its modalities,
   * its station AE title) even when the query leaves those keys empty. Undefined: nothing can match.
   */
  #filter(pre: ReturnType<typeof compileQuery>['prefilter'], asker: WorklistAsker): StepCandidateFilter | undefined {
    const device = asker.device;
    let modalities = pre.modalities;
    let stations = pre.stationAeTitles;
    const allowed = device?.worklistFilter.modalities ?? [];
    if (allowed.length > 0) modalities = modalities === undefined ? allowed : modalities.filter((m) => allowed.includes(m));
    const station = device?.worklistFilter.stationAeTitle;
    if (station !== undefined) {
      const own = station === 'calling' ? device?.aeTitle : station;
      if (own !== undefined) stations = stations === undefined ? [own] : stations.filter((s) => s === own);
    }
    if (modalities?.length === 0 || stations?.length === 0) return undefined;
    return {
      ...(modalities === undefined ? {} : { modalities }),
      ...(stations === undefined ? {} : { stationAeTitles: stations }),
      ...(pre.startDate?.from === undefined ? {} : { dateFrom: pre.startDate.from }),
      ...(pre.startDate?.to === undefined ? {} : { dateTo: pre.startDate.to }),
      ...(pre.patientId === undefined ? {} : { patientId: pre.patientId }),
      ...(pre.accessionNumber === undefined ? {} : { accessionNumber: pre.accessionNumber }),
      statuses: this.#deps.offerInProgress ? [StepStatus.Scheduled, StepStatus.InProgress] : [StepStatus.Scheduled],
      // Items of no partition are everybody's; an alias's items only its callers'.
      partitions: asker.calledAlias === undefined ? [''] : ['', asker.calledAlias],
    };
  }
}

