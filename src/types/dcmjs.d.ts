// The parts of dcmjs we use; the package ships no types.
declare module 'dcmjs' {
  type Dataset = Record<string, unknown>;
  interface DictionaryEntry {
    tag: string;
    vr: string;
    vm: string;
    name: string;
  }
  const dcmjs: {
    data: {
      DicomMetaDictionary: {
        naturalizeDataset(dataset: Dataset): Dataset;
        denaturalizeDataset(dataset: Dataset): Dataset;
        nameMap: Record<string, DictionaryEntry>;
        dictionary: Record<string, DictionaryEntry>;
        uid(): string;
      };
      DicomMessage: {
        readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { dict: Dataset; meta: Dataset };
        _read(stream: unknown, syntax: string, options?: Record<string, unknown>): Dataset;
        write(dataset: Dataset, stream: unknown, syntax: string, writeOptions?: Record<string, unknown>): number;
      };
      WriteBufferStream: new (defaultSize?: number, littleEndian?: boolean) => { encoder: { encode(text: string): Uint8Array }; getBuffer(start?: number, end?: number): ArrayBuffer; size: number };
      ReadBufferStream: new (buffer: ArrayBuffer, littleEndian?: boolean | null, options?: Record<string, unknown>) => unknown;
      DicomDict: new (meta: Dataset) => { dict: Dataset; write(options?: Record<string, unknown>): ArrayBuffer };
    };
  };
  export default dcmjs;
}
