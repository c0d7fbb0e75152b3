/**
 * The attributes of the Modality Worklist Information Model (PS3.4 K.6.1.2, Table K.6-1), with the
 * sequence item attributes they use (code items, issuer items, referenced SOP items). Hand-written;
 * test/unit/mwl-attributes.test.ts checks every row against the dcmjs data dictionary.
 */

export interface DicomAttribute {
  keyword: string;
  /** 8 upper-case hex digits, as keys of the DICOM JSON model. */
  tag: string;
  vr: string;
}

/** Keyword → tag for every attribute we know; use these instead of tag literals. */
export const Tag = {
  // SOP common
  SpecificCharacterSet: '00080005',
  // Scheduled Procedure Step
  ScheduledProcedureStepSequence: '00400100',
  ScheduledStationAETitle: '00400001',
  ScheduledProcedureStepStartDate: '00400002',
  ScheduledProcedureStepStartTime: '00400003',
  ScheduledProcedureStepEndDate: '00400004',
  ScheduledProcedureStepEndTime: '00400005',
  Modality: '00080060',
  ScheduledPerformingPhysicianName: '00400006',
  ScheduledPerformingPhysicianIdentificationSequence: '0040000B',
  ScheduledProcedureStepDescription: '00400007',
  ScheduledProtocolCodeSequence: '00400008',
  ProtocolContextSequence: '00400440',
  ScheduledProcedureStepID: '00400009',
  ScheduledStationName: '00400010',
  ScheduledProcedureStepLocation: '00400011',
  PreMedication: '00400012',
  ScheduledProcedureStepStatus: '00400020',
  CommentsOnTheScheduledProcedureStep: '00400400',
  RequestedContrastAgent: '00321070',
  AnatomicalOrientationType: '00102210',
  // Requested Procedure
  RequestedProcedureID: '00401001',
  RequestedProcedureDescription: '00321060',
  RequestedProcedureCodeSequence: '00321064',
  StudyInstanceUID: '0020000D',
  StudyDate: '00080020',
  StudyTime: '00080030',
  ReferencedStudySequence: '00081110',
  RequestedProcedurePriority: '00401003',
  PatientTransportArrangements: '00401004',
  ReasonForTheRequestedProcedure: '00401002',
  ReasonForRequestedProcedureCodeSequence: '0040100A',
  RequestedProcedureComments: '00401400',
  RequestedProcedureLocation: '00401005',
  ConfidentialityCode: '00401008',
  ReportingPriority: '00401009',
  NamesOfIntendedRecipientsOfResults: '00401010',
  // Imaging Service Request
  AccessionNumber: '00080050',
  IssuerOfAccessionNumberSequence: '00080051',
  ReferringPhysicianName: '00080090',
  RequestingPhysician: '00321032',
  RequestingService: '00321033',
  ImagingServiceRequestComments: '00402400',
  PlacerOrderNumberImagingServiceRequest: '00402016',
  FillerOrderNumberImagingServiceRequest: '00402017',
  IssueDateOfImagingServiceRequest: '00402004',
  IssueTimeOfImagingServiceRequest: '00402005',
  OrderEnteredBy: '00402008',
  OrderEntererLocation: '00402009',
  OrderCallbackPhoneNumber: '00402010',
  // Visit
  AdmissionID: '00380010',
  IssuerOfAdmissionIDSequence: '00380014',
  RouteOfAdmissions: '00380016',
  VisitStatusID: '00380008',
  CurrentPatientLocation: '00380300',
  SpecialNeeds: '00380050',
  PatientState: '00380500',
  ServiceEpisodeID: '00380060',
  VisitComments: '00384000',
  ReferencedPatientSequence: '00081120',
  ReferencedVisitSequence: '00081125',
  InstitutionName: '00080080',
  InstitutionAddress: '00080081',
  InstitutionalDepartmentName: '00081040',
  AdmittingDiagnosesDescription: '00081080',
  AdmittingDiagnosesCodeSequence: '00081084',
  // Patient
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  TypeOfPatientID: '00100022',
  IssuerOfPatientIDQualifiersSequence: '00100024',
  OtherPatientIDsSequence: '00101002',
  OtherPatientNames: '00101001',
  PatientBirthName: '00101005',
  PatientMotherBirthName: '00101060',
  PatientBirthDate: '00100030',
  PatientBirthTime: '00100032',
  PatientSex: '00100040',
  PatientAge: '00101010',
  PatientSize: '00101020',
  PatientWeight: '00101030',
  PatientAddress: '00101040',
  PatientTelephoneNumbers: '00102154',
  MedicalAlerts: '00102000',
  Allergies: '00102110',
  EthnicGroup: '00102160',
  SmokingStatus: '001021A0',
  AdditionalPatientHistory: '001021B0',
  PregnancyStatus: '001021C0',
  LastMenstrualDate: '001021D0',
  ResponsiblePerson: '00102297',
  PatientComments: '00104000',
  ConfidentialityConstraintOnPatientDataDescription: '00403001',
  // Sequence items: referenced SOP, codes, issuers, person identification
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  CodeValue: '00080100',
  CodingSchemeDesignator: '00080102',
  CodingSchemeVersion: '00080103',
  CodeMeaning: '00080104',
  LongCodeValue: '00080119',
  URNCodeValue: '00080120',
  LocalNamespaceEntityID: '00400031',
  UniversalEntityID: '00400032',
  UniversalEntityIDType: '00400033',
  PersonIdentificationCodeSequence: '00401101',
} as const;
export type TagKeyword = keyof typeof Tag;

/** The VR of each attribute of `Tag`. */
const vrs: Record<TagKeyword, string> = {
  SpecificCharacterSet: 'CS',
  ScheduledProcedureStepSequence: 'SQ',
  ScheduledStationAETitle: 'AE',
  ScheduledProcedureStepStartDate: 'DA',
  ScheduledProcedureStepStartTime: 'TM',
  ScheduledProcedureStepEndDate: 'DA',
  ScheduledProcedureStepEndTime: 'TM',
  Modality: 'CS',
  ScheduledPerformingPhysicianName: 'PN',
  ScheduledPerformingPhysicianIdentificationSequence: 'SQ',
  ScheduledProcedureStepDescription: 'LO',
  ScheduledProtocolCodeSequence: 'SQ',
  ProtocolContextSequence: 'SQ',
  ScheduledProcedureStepID: 'SH',
  ScheduledStationName: 'SH',
  ScheduledProcedureStepLocation: 'SH',
  PreMedication: 'LO',
  ScheduledProcedureStepStatus: 'CS',
  CommentsOnTheScheduledProcedureStep: 'LT',
  RequestedContrastAgent: 'LO',
  AnatomicalOrientationType: 'CS',
  RequestedProcedureID: 'SH',
  RequestedProcedureDescription: 'LO',
  RequestedProcedureCodeSequence: 'SQ',
  StudyInstanceUID: 'UI',
  StudyDate: 'DA',
  StudyTime: 'TM',
  ReferencedStudySequence: 'SQ',
  RequestedProcedurePriority: 'SH',
  PatientTransportArrangements: 'LO',
  ReasonForTheRequestedProcedure: 'LO',
  ReasonForRequestedProcedureCodeSequence: 'SQ',
  RequestedProcedureComments: 'LT',
  RequestedProcedureLocation: 'LO',
  ConfidentialityCode: 'LO',
  ReportingPriority: 'SH',
  NamesOfIntendedRecipientsOfResults: 'PN',
  AccessionNumber: 'SH',
  IssuerOfAccessionNumberSequence: 'SQ',
  ReferringPhysicianName: 'PN',
  RequestingPhysician: 'PN',
  RequestingService: 'LO',
  ImagingServiceRequestComments: 'LT',
  PlacerOrderNumberImagingServiceRequest: 'LO',
  FillerOrderNumberImagingServiceRequest: 'LO',
  IssueDateOfImagingServiceRequest: 'DA',
  IssueTimeOfImagingServiceRequest: 'TM',
  OrderEnteredBy: 'PN',
  OrderEntererLocation: 'SH',
  OrderCallbackPhoneNumber: 'SH',
  AdmissionID: 'LO',
  IssuerOfAdmissionIDSequence: 'SQ',
  RouteOfAdmissions: 'LO',
  VisitStatusID: 'CS',
  CurrentPatientLocation: 'LO',
  SpecialNeeds: 'LO',
  PatientState: 'LO',
  ServiceEpisodeID: 'LO',
  VisitComments: 'LT',
  ReferencedPatientSequence: 'SQ',
  ReferencedVisitSequence: 'SQ',
  InstitutionName: 'LO',
  InstitutionAddress: 'ST',
  InstitutionalDepartmentName: 'LO',
  AdmittingDiagnosesDescription: 'LO',
  AdmittingDiagnosesCodeSequence: 'SQ',
  PatientName: 'PN',
  PatientID: 'LO',
  IssuerOfPatientID: 'LO',
  TypeOfPatientID: 'CS',
  IssuerOfPatientIDQualifiersSequence: 'SQ',
  OtherPatientIDsSequence: 'SQ',
  OtherPatientNames: 'PN',
  PatientBirthName: 'PN',
  PatientMotherBirthName: 'PN',
  PatientBirthDate: 'DA',
  PatientBirthTime: 'TM',
  PatientSex: 'CS',
  PatientAge: 'AS',
  PatientSize: 'DS',
  PatientWeight: 'DS',
  PatientAddress: 'LO',
  PatientTelephoneNumbers: 'SH',
  MedicalAlerts: 'LO',
  Allergies: 'LO',
  EthnicGroup: 'SH',
  SmokingStatus: 'CS',
  AdditionalPatientHistory: 'LT',
  PregnancyStatus: 'US',
  LastMenstrualDate: 'DA',
  ResponsiblePerson: 'PN',
  PatientComments: 'LT',
  ConfidentialityConstraintOnPatientDataDescription: 'LO',
  ReferencedSOPClassUID: 'UI',
  ReferencedSOPInstanceUID: 'UI',
  CodeValue: 'SH',
  CodingSchemeDesignator: 'SH',
  CodingSchemeVersion: 'SH',
  CodeMeaning: 'LO',
  LongCodeValue: 'UC',
  URNCodeValue: 'UR',
  LocalNamespaceEntityID: 'UT',
  UniversalEntityID: 'UT',
  UniversalEntityIDType: 'CS',
  PersonIdentificationCodeSequence: 'SQ',
};

/** Every known attribute, in tag order. */
export const mwlAttributes: readonly DicomAttribute[] = (Object.keys(Tag) as TagKeyword[])
  .map((keyword) => ({ keyword, tag: Tag[keyword], vr: vrs[keyword] }))
  .sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));

const byTag: ReadonlyMap<string, DicomAttribute> = new Map(mwlAttributes.map((a) => [a.tag, a]));
const byKeyword: ReadonlyMap<string, DicomAttribute> = new Map(mwlAttributes.map((a) => [a.keyword, a]));

export function attributeByTag(tag: string): DicomAttribute | undefined {
  return byTag.get(tag.toUpperCase());
}

export function attributeByKeyword(keyword: string): DicomAttribute | undefined {
  return byKeyword.get(keyword);
}

/** `(0040,0002) ScheduledProcedureStepStartDate` for messages; the bare tag when unknown. */
export function describeTag(tag: string): string {
  const formatted = `(${tag.slice(0, 4)},${tag.slice(4, 8)})`;
  const attribute = byTag.get(tag);
  return attribute === undefined ? formatted : `${formatted} ${attribute.keyword}`;
}

/**
 * Date and time attributes that form one point in time; with `combineDateTime` their keys match as
 * one datetime range (PS3.4 C.2.2.2.5.1), date tag → time tag.
 */
export const dateTimePairs: ReadonlyMap<string, string> = new Map([
  [Tag.ScheduledProcedureStepStartDate, Tag.ScheduledProcedureStepStartTime],
  [Tag.ScheduledProcedureStepEndDate, Tag.ScheduledProcedureStepEndTime],
  [Tag.StudyDate, Tag.StudyTime],
  [Tag.IssueDateOfImagingServiceRequest, Tag.IssueTimeOfImagingServiceRequest],
  [Tag.PatientBirthDate, Tag.PatientBirthTime],
]);
