import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { describeTimeLeft } from '../../common/api';
import type { IngestProgress } from '../../common/document';
import { DEFAULT_MAX_FILE_BYTES } from '../ingest/index';
import type { DocumentSummary } from '../library/documents';
import { bundledModelDir, ModelRegistry } from '../assistant/models';
import type { Collection } from '../library/collections';
import { Library, type AddResult } from '../library/library';
import { SettingsStore } from '../api/settings';

/** `--no-ocr` of `library add`, `ask` and `summarize`. */
export const NO_OCR_HELP = 'do not read PDF pages without a text layer by OCR: a scanned PDF is refused (default: from the settings, on)';

/** How the CLI names what adding a file is doing. */
export function ingestPhaseLabel(phase: IngestProgress['phase']): string {
  return { read: 'reading', ocr: 'OCR', store: 'storing' }[phase];
}

/** The time an ingest still takes, when it is estimated (OCR); empty otherwise. */
export function etaText(seconds: number | undefined): string {
  return seconds === undefined ? '' : describeTimeLeft(seconds);
}

const NO_MODEL_NOTE = 'No model is installed, so the token count is unknown.';

interface JsonFlag {
  json?: boolean;
}

export function registerLibrary(program: Command): void {
  const library = program.command('library').description('Manage the library of books and documents (PDF, EPUB, Word .docx, text, Markdown, HTML).');

  library
    .command('add')
    .description('Read a file into the library and print what was found.')
    .argument('<file>', 'the document to add')
    .option('--json', 'print the result (or the error) as JSON')
    .option('--password <password>', 'password of a protected PDF')
    .option('--no-ocr', NO_OCR_HELP)
    .option('--max-size <MB>', `refuse files larger than this many megabytes (default ${DEFAULT_MAX_FILE_BYTES / 1024 / 1024})`, megabytes)
    .action(async (file: string, flags: JsonFlag & { password?: string; maxSize?: number; ocr: boolean }) => {
      const lib = openLibrary(flags);
      const bar = !flags.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: ' {phase} [{bar}] {value}/{total} {eta}', stream: process.stderr, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
      let phase: IngestProgress['phase'] | null = null;
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        const result = await lib.add(file, {
          inOwnProcess: true, // Ctrl-C stops even a stuck parse
          password: flags.password,
          maxBytes: flags.maxSize,
          ocr: flags.ocr && new SettingsStore(lib.home).get().ocr,
          signal: abort.signal,
          countWith: new ModelRegistry(lib.home, bundledModelDir()).countingModel(),
          onProgress: (p) => {
            if (!bar) return;
            if (p.phase !== phase) {
              if (phase) bar.stop();
              phase = p.phase;
              bar.start(p.total, 0, { phase: ingestPhaseLabel(p.phase), eta: '' });
            }
            bar.update(p.done, { eta: etaText(p.etaSeconds) });
          },
        });
        bar?.stop();
        if (flags.json) print(addJson(result, lib));
        else printAdd(result);
      } finally {
        bar?.stop();
        process.off('SIGINT', onSigint);
        lib.close();
      }
    });

  library
    .command('list')
    .description('List the documents in the library.')
    .option('--json', 'print JSON')
    .action((flags: JsonFlag) => {
      const lib = openLibrary(flags);
      try {
        const docs = lib.list();
        if (flags.json) print({ documents: docs.map(summaryJson), ...notice(lib) });
        else if (docs.length === 0) console.log(`The library is empty (${lib.home}).`);
        else for (const d of docs) console.log(`${d.id.slice(0, 12)}  ${d.type.padEnd(8)} ${String(d.pageCount).padStart(5)} pp  ${d.title}${d.author ? ` — ${d.author}` : ''}`);
      } finally {
        lib.close();
      }
    });

  library
    .command('remove')
    .description('Remove a document (by id or id prefix) and its index and caches; chats about it are kept.')
    .argument('<id>', 'document id or a prefix of at least 6 characters')
    .option('--json', 'print JSON')
    .action((id: string, flags: JsonFlag) => {
      const lib = openLibrary(flags);
      try {
        const removed = lib.remove(id);
        if (flags.json) print({ removed: summaryJson(removed), ...notice(lib) });
        else console.log(`Removed "${removed.title}" (${removed.id.slice(0, 12)}).`);
      } finally {
        lib.close();
      }
    });

  library
    .command('search')
    .description('Full-text search over the pages of the library.')
    .argument('<query...>', 'words to find (all must be on the page)')
    .option('--doc <id>', 'only this document')
    .option('--limit <n>', 'hits to show', (v) => Number.parseInt(v, 10), 10)
    .option('--json', 'print JSON')
    .action((words: string[], flags: JsonFlag & { doc?: string; limit: number }) => {
      const lib = openLibrary(flags);
      try {
        const docId = flags.doc ? lib.documents.resolveId(flags.doc) : undefined;
        const hits = lib.documents.search(words.join(' '), { docId, limit: flags.limit });
        if (flags.json) print({ hits });
        else for (const h of hits) console.log(`${h.docId.slice(0, 12)}  p.${h.label ?? h.page}  ${h.title}\n    ${h.snippet}`);
      } finally {
        lib.close();
      }
    });

  registerCollections(library);
}

/** `longread library collection …`: named sets of documents; a document may be in several. */
function registerCollections(library: Command): void {
  const collection = library.command('collection').description('Collections: named sets of documents (a document may be in several).');
  const withLibrary = <T>(flags: JsonFlag, fn: (lib: Library) => T): T => {
    const lib = openLibrary(flags);
    try {
      return fn(lib);
    } finally {
      lib.close();
    }
  };
  const show = (flags: JsonFlag, key: string, c: Collection, human: string) => {
    if (flags.json) print({ [key]: collectionJson(c) });
    else console.log(human);
  };

  collection
    .command('create')
    .description('Make an empty collection.')
    .argument('<name>', 'its name (unique, any case)')
    .option('--json', 'print JSON')
    .action((name: string, flags: JsonFlag) =>
      withLibrary(flags, (lib) => {
        const c = lib.collections.create(name);
        show(flags, 'collection', c, `Created the collection "${c.name}" (${c.id}).`);
      }),
    );

  collection
    .command('rename')
    .description('Give a collection another name.')
    .argument('<collection>', 'its name or number')
    .argument('<name>', 'the new name')
    .option('--json', 'print JSON')
    .action((which: string, name: string, flags: JsonFlag) =>
      withLibrary(flags, (lib) => {
        const c = lib.collections.rename(lib.collections.resolve(which).id, name);
        show(flags, 'collection', c, `Renamed the collection to "${c.name}".`);
      }),
    );

  collection
    .command('delete')
    .description('Delete a collection; its documents stay in the library.')
    .argument('<collection>', 'its name or number')
    .option('--json', 'print JSON')
    .action((which: string, flags: JsonFlag) =>
      withLibrary(flags, (lib) => {
        const c = lib.collections.remove(lib.collections.resolve(which).id);
        show(flags, 'deleted', c, `Deleted the collection "${c.name}" (its ${c.documentIds.length} documents stay in the library).`);
      }),
    );

  const membership = [
    ['add', 'Put documents in a collection.', 'addDocuments'],
    ['remove', 'Take documents out of a collection (they stay in the library).', 'removeDocuments'],
  ] as const;
  for (const [name, description, change] of membership) {
    collection
      .command(name)
      .description(description)
      .argument('<collection>', 'its name or number')
      .argument('<ids...>', 'document ids or prefixes of at least 6 characters')
      .option('--json', 'print JSON')
      .action((which: string, ids: string[], flags: JsonFlag) =>
        withLibrary(flags, (lib) => {
          const target = lib.collections.resolve(which);
          const c = lib.collections[change](target.id, ids.map((id) => lib.documents.resolveId(id)));
          show(flags, 'collection', c, `"${c.name}" has ${c.documentIds.length} document${c.documentIds.length === 1 ? '' : 's'}.`);
        }),
      );
  }

  collection
    .command('list')
    .description('List the collections and their documents.')
    .option('--json', 'print JSON')
    .action((flags: JsonFlag) =>
      withLibrary(flags, (lib) => {
        const all = lib.collections.list();
        if (flags.json) return print({ collections: all.map(collectionJson) });
        if (all.length === 0) return console.log('There are no collections (`longread library collection create NAME` makes one).');
        for (const c of all) {
          console.log(`${c.id}  ${c.name} (${c.documentIds.length} document${c.documentIds.length === 1 ? '' : 's'})`);
          for (const id of c.documentIds) console.log(`    ${id.slice(0, 12)}  ${lib.documents.get(id)?.title ?? ''}`);
        }
      }),
    );
}

function collectionJson(c: Collection) {
  return { id: c.id, name: c.name, documents: c.documentIds, createdAt: new Date(c.createdAt).toISOString(), updatedAt: new Date(c.updatedAt).toISOString() };
}

function openLibrary(flags: JsonFlag): Library {
  const lib = Library.open();
  if (lib.recovered && !flags.json) process.stderr.write(`longread: ${lib.recovered.message}\n`);
  return lib;
}

function notice(lib: Library): { notice?: string } {
  return lib.recovered ? { notice: lib.recovered.message } : {};
}

function addJson(r: AddResult, lib: Library) {
  const sections = lib.documents.sections(r.document.id);
  return {
    id: r.document.id,
    title: r.document.title,
    author: r.document.author,
    type: r.document.type,
    pages: r.document.pageCount,
    pageKind: r.document.pageKind,
    sections: sections.map((s) => ({ title: s.title, level: s.level, page: s.page })),
    tokens: r.tokens?.count ?? null,
    tokenModel: r.tokens?.modelId ?? null,
    ...(r.tokens ? {} : { tokensNote: NO_MODEL_NOTE }),
    status: r.status,
    version: r.version,
    path: r.path,
    warnings: r.document.warnings,
    ...notice(lib),
  };
}

function summaryJson(d: DocumentSummary) {
  return {
    id: d.id,
    title: d.title,
    author: d.author,
    type: d.type,
    pages: d.pageCount,
    pageKind: d.pageKind,
    sections: d.sectionCount,
    chars: d.charCount,
    bytes: d.byteSize,
    addedAt: new Date(d.addedAt).toISOString(),
    files: d.files.map((f) => ({ path: f.path, version: f.version })),
  };
}

function printAdd(r: AddResult): void {
  const d = r.document;
  const verb = r.status === 'existing' ? 'Already in the library:' : r.status === 'new-version' ? `Added version ${r.version} of` : 'Added';
  console.log(`${verb} "${d.title}"${d.author ? ` by ${d.author}` : ''}`);
  console.log(`  id        ${d.id}`);
  console.log(`  type      ${d.type}, ${d.pageCount} ${d.pageKind === 'virtual' ? 'book-size pages' : 'pages'}, ${d.sectionCount} sections`);
  console.log(`  tokens    ${r.tokens ? `${r.tokens.count} (${r.tokens.modelId})` : `unknown — ${NO_MODEL_NOTE}`}`);
  for (const w of d.warnings) console.log(`  warning   ${w}`);
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

function megabytes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a size in megabytes, got "${value}"`);
  return Math.floor(n * 1024 * 1024);
}
