import yauzl from 'yauzl';

/** Limits that keep a hostile archive (zip bomb, path tricks) from hurting the reader. */
export interface ZipLimits {
  maxEntries: number;
  /** Largest uncompressed size of one entry we will read. */
  maxEntryBytes: number;
  /** Largest total of uncompressed bytes read from the archive. */
  maxTotalBytes: number;
  /** Largest uncompressed/compressed ratio for an entry bigger than 1 MiB, and of all entries to the archive's size. */
  maxRatio: number;
}

/** Below this many bytes unpacked, no ratio is too high (tiny files compress very well). */
const MIN_RATIO_CHECKED = 1024 * 1024;

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 20_000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 512 * 1024 * 1024,
  maxRatio: 200,
};

/** A zip problem: `unsafe` for archives that try to exceed limits or escape, else damaged. */
export class ZipProblem extends Error {
  constructor(
    readonly kind: 'unsafe' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

/** Reads entries of an in-memory zip on demand, within limits. Entry names are exact paths. */
export class ZipReader {
  private totalRead = 0;

  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly entries: Map<string, yauzl.Entry>,
    private readonly limits: ZipLimits,
    /** The most bytes all reads together may unpack: the ratio limit applied to the whole archive. */
    private readonly maxUnpacked: number,
  ) {}

  static async open(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipReader> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, z) =>
        err ? reject(classify(err)) : resolve(z!),
      ),
    );
    if (zip.entryCount > limits.maxEntries) {
      zip.close();
      throw new ZipProblem('unsafe', `it has ${zip.entryCount} entries (the limit is ${limits.maxEntries})`);
    }
    const entries = new Map<string, yauzl.Entry>();
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!entry.fileName.endsWith('/')) entries.set(entry.fileName, entry);
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', (err: Error) => reject(classify(err)));
      zip.readEntry();
    });
    // Many entries each under the per-entry check (or one entry read many times) add up to a bomb too.
    const maxUnpacked = Math.max(MIN_RATIO_CHECKED, limits.maxRatio * bytes.byteLength);
    return new ZipReader(zip, entries, limits, maxUnpacked);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  async read(name: string): Promise<Buffer> {
    const entry = this.entries.get(name);
    if (!entry) throw new ZipProblem('corrupt', `the entry "${name}" is missing`);
    const { maxEntryBytes, maxTotalBytes, maxRatio } = this.limits;
    if (entry.uncompressedSize > maxEntryBytes) {
      throw new ZipProblem('unsafe', `the entry "${name}" would unpack to ${entry.uncompressedSize} bytes (the limit is ${maxEntryBytes})`);
    }
    if (entry.uncompressedSize > MIN_RATIO_CHECKED && entry.uncompressedSize > maxRatio * Math.max(1, entry.compressedSize)) {
      throw new ZipProblem('unsafe', `the entry "${name}" is compressed ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}:1, which looks like a zip bomb`);
    }
    if (this.totalRead + entry.uncompressedSize > maxTotalBytes) {
      throw new ZipProblem('unsafe', `it would unpack to more than ${maxTotalBytes} bytes`);
    }
    if (this.totalRead + entry.uncompressedSize > this.maxUnpacked) {
      throw new ZipProblem('unsafe', `reading it would unpack more than ${maxRatio} times the archive's size, which looks like a zip bomb`);
    }
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      this.zip.openReadStream(entry, (err, s) => (err ? reject(classify(err)) : resolve(s!))),
    );
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        // yauzl already stops at the declared size; this guards the total even so.
        if (size > maxEntryBytes || this.totalRead + size > Math.min(maxTotalBytes, this.maxUnpacked)) {
          (stream as unknown as { destroy(): void }).destroy();
          throw new ZipProblem('unsafe', `the entry "${name}" unpacks to more than it declares`);
        }
        chunks.push(chunk);
      }
    } catch (e) {
      throw e instanceof ZipProblem ? e : classify(e as Error);
    }
    this.totalRead += size;
    return Buffer.concat(chunks, size);
  }

  close(): void {
    this.zip.close();
  }
}

function classify(err: Error): ZipProblem {
  const m = err.message;
  if (/absolute path|invalid relative path|invalid characters in fileName|too many bytes/i.test(m)) return new ZipProblem('unsafe', m);
  return new ZipProblem('corrupt', m);
}
