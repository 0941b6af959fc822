import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { COMPRESSION_PRESETS, NO_CONFIDENT_ANSWER, PRECISIONS, type Citation, type CompressionPreset, type JobEvent, type ModelInfo, type Precision } from '../../common/api';
import { LongreadError } from '../../common/errors';
import { SettingsStore, stateCacheBytes } from '../api/settings';
import { Assistant } from '../assistant/assistant';
import { hubCacheDir, listCachedModels, resolveModelSource } from '../assistant/hf-cache';
import type { AskOutcome, CollectionSummaryOutcome, SummaryOutcome } from '../assistant/types';
import { Library } from '../library/library';
import { etaText, ingestPhaseLabel, NO_OCR_HELP } from './library';
import { choiceOption, intOption, rangeOption } from './options';

interface EngineFlags {
  json?: boolean;
  model?: string;
  threads?: number;
  compression?: CompressionPreset;
  limit?: number;
  precision?: Precision;
}

/** Progress on stderr, only for a person at a terminal (scripts get clean streams). */
class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private label = '';

  constructor(private readonly enabled: boolean) {}

  show(label: string, fraction: number, detail = ''): void {
    if (!this.enabled) return;
    if (this.label !== label) {
      this.stop();
      this.label = label;
      this.bar = new cliProgress.SingleBar(
        { format: ` ${label.padEnd(12)} [{bar}] {percentage}% {detail}`, stream: process.stderr, clearOnComplete: true, hideCursor: false },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(100, 0, { detail });
    }
    this.bar!.update(Math.round(fraction * 100), { detail });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
    this.label = '';
  }
}

/** Opens the library and the assistant with the app's settings, and runs `fn`; Ctrl-C cancels. */
async function withAssistant<T>(flags: EngineFlags, fn: (ctx: { library: Library; assistant: Assistant; signal: AbortSignal; progress: Progress }) => Promise<T>): Promise<T> {
  const library = Library.open();
  if (library.recovered && !flags.json) process.stderr.write(`longread: ${library.recovered.message}\n`);
  const settings = new SettingsStore(library.home).get();
  library.engineState.capBytes = stateCacheBytes(settings);
  const assistant = await Assistant.open({
    library,
    home: library.home,
    threads: flags.threads ?? (settings.threads || undefined),
    provider: settings.provider,
    compression: flags.compression ?? settings.compression,
    maxDocumentTokens: flags.limit,
  });
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const progress = new Progress(!flags.json && process.stderr.isTTY === true);
  try {
    return await fn({ library, assistant, signal: abort.signal, progress });
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    await assistant.close();
    library.close();
  }
}

async function addFile(library: Library, file: string, progress: Progress, signal: AbortSignal, ocr: boolean): Promise<string> {
  const added = await library.add(file, {
    inOwnProcess: true, // Ctrl-C stops even a stuck parse
    signal,
    ocr: ocr && new SettingsStore(library.home).get().ocr,
    onProgress: (p) => progress.show(ingestPhaseLabel(p.phase), p.total ? p.done / p.total : 0, etaText(p.etaSeconds)),
  });
  progress.stop();
  return added.document.id;
}

function jobEvents(progress: Progress, onToken: (text: string) => void) {
  return (e: JobEvent) => {
    if (e.type === 'progress') {
      const detail = e.tokensPerSecond ? `${e.tokensPerSecond.toFixed(1)} tokens/s` : (e.detail ?? '');
      progress.show(e.stage, e.fraction ?? 0, detail);
    } else if (e.type === 'token') {
      progress.stop();
      onToken(e.text);
    }
  };
}

/** --chapter N (counting from 1) as the API's section index (counting from 0), checked against the document. */
function chapterIndex(library: Library, documentId: string, n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  const doc = library.documents.get(documentId)!;
  if (n > doc.sectionCount) {
    throw new LongreadError(
      'section-not-found',
      doc.sectionCount === 0 ? `"${doc.title}" has no sections; leave out --chapter.` : `"${doc.title}" has ${doc.sectionCount} sections; --chapter takes 1 to ${doc.sectionCount}.`,
    );
  }
  return n - 1;
}

function citationJson(c: Citation) {
  return {
    ...(c.documentTitle !== undefined ? { document: { id: c.documentId, title: c.documentTitle } } : {}),
    page: c.page ?? null,
    chapter: c.section ? { index: c.section.index + 1, title: c.section.title } : null,
    start: c.start,
    end: c.end,
    quote: c.quote,
    score: c.score,
  };
}

function where(c: Citation): string {
  const parts = [c.documentTitle !== undefined ? `“${c.documentTitle}”` : null, c.page !== undefined ? `p. ${c.page}` : null, c.section ? c.section.title : null, `chars ${c.start}–${c.end}`].filter(Boolean);
  return parts.join(', ');
}

function printCitations(citations: Citation[]): void {
  if (citations.length === 0) return;
  process.stdout.write('\nSources:\n');
  citations.forEach((c, i) => process.stdout.write(`  [${i + 1}] ${where(c)}: “${c.quote}”\n`));
}

function engineOptions(cmd: Command): Command {
  return cmd
    .option('--model <id>', 'model to use (see `longread models list`; default: the active one)')
    .option('--threads <n>', 'engine threads (default: from the settings, else one per physical core)', intOption(1))
    .option('--compression <preset>', 'VCC compression: fast, balanced or accurate (default: from the settings)', choiceOption(COMPRESSION_PRESETS))
    .option('--limit <tokens>', 'document tokens read in one pass at most (default 131072)', intOption(2))
    .option('--json', 'print one JSON object (or the error) on stdout');
}

/**
 * The positional arguments of a command that reads a file, or with --collection a collection
 * (then the file is left out): a usage error when they do not fit.
 */
function fileOrCollection(cmd: Command, args: Array<string | undefined>, wanted: number, flags: { collection?: string; chapter?: unknown }): { file: string | null; rest: string[] } {
  const given = args.filter((a): a is string => a !== undefined);
  if (flags.collection !== undefined) {
    if (flags.chapter !== undefined) cmd.error('error: --chapter reads one document\'s chapters; leave it out with --collection');
    if (given.length !== wanted) cmd.error(`error: with --collection give ${wanted === 0 ? 'no file' : 'only the question (no file)'}`);
    return { file: null, rest: given };
  }
  if (given.length !== wanted + 1) cmd.error(`error: give the file${wanted === 0 ? '' : ' and the question'} (or --collection NAME)`);
  return { file: given[0]!, rest: given.slice(1) };
}

/** The collection named on the command line (its name or number), with at least one document. */
function collectionArg(library: Library, nameOrId: string) {
  return library.collections.nonEmpty(String(library.collections.resolve(nameOrId).id));
}

export function registerAssistant(program: Command): void {
  engineOptions(
    program
      .command('ask')
      .description('Answer a question about a document (added to the library first if needed), or about every document in a collection, with citations.')
      .usage('[options] <file> <question>\n       longread ask [options] --collection <name> <question>')
      .argument('[file]', 'the document (PDF, EPUB, Word .docx, text, Markdown, HTML); left out with --collection')
      .argument('[question]', 'the question')
      .option('--collection <name>', 'ask every document in this collection (its name or number); each citation names its document')
      .option('--chapter <n>', 'only read section N, or sections N-M (1 = the first section of the document)', rangeOption)
      .option('--no-ocr', NO_OCR_HELP),
  ).action(async (a: string | undefined, b: string | undefined, flags: EngineFlags & { chapter?: { from: number; to: number }; collection?: string; ocr: boolean }, cmd: Command) => {
    const { file, rest } = fileOrCollection(cmd, [a, b], 1, flags);
    const question = rest[0]!;
    await withAssistant(flags, async ({ library, assistant, signal, progress }) => {
      let streamed = false;
      const onEvent = jobEvents(progress, (t) => {
        if (flags.json) return;
        streamed = true;
        process.stdout.write(t);
      });
      let documentId: string | null = null;
      let job;
      if (file === null) {
        const collection = collectionArg(library, flags.collection!);
        job = assistant.askCollection({ collectionId: String(collection.id), question, modelId: flags.model }, onEvent, { signal });
      } else {
        documentId = await addFile(library, file, progress, signal, flags.ocr);
        const sections = flags.chapter && { from: chapterIndex(library, documentId, flags.chapter.from)!, to: chapterIndex(library, documentId, flags.chapter.to)! };
        job = assistant.ask({ documentId, question, sections, modelId: flags.model }, onEvent, { signal });
      }
      const r: AskOutcome = await job.result;
      if (flags.json) {
        process.stdout.write(
          JSON.stringify({
            answer: r.answer,
            confident: r.confident,
            confidence: r.confidence,
            answeredFrom: r.answeredFrom,
            citations: r.citations.map(citationJson),
            evidence: r.evidence,
            cached: r.cached,
            model: r.model,
            ...(documentId !== null ? { documentId } : {}),
            ...(r.collection ? { collection: r.collection } : {}),
            documentTokens: r.documentTokens,
            read: r.read,
            chatId: r.chatId,
            ...(r.engine ? { localCacheHit: r.engine.localCacheHit, timingsMs: r.engine.timingsMs } : {}),
          }) + '\n',
        );
        return;
      }
      if (streamed || r.answer) process.stdout.write('\n');
      if (!r.confident) process.stdout.write(`${NO_CONFIDENT_ANSWER}\n`);
      printCitations(r.citations);
      if (r.confident && r.answeredFrom === 'passages') process.stderr.write('\nThe answer is quoted from the passages ranked highest (among the sources above), read again in full.\n');
      if (r.read.note) process.stderr.write(`\nNote: ${r.read.note}\n`);
      if (r.cached) process.stderr.write('(answer from the cache)\n');
    });
  });

  engineOptions(
    program
      .command('summarize')
      .description('Summarize a document or one of its sections, or each document in a collection.')
      .usage('[options] <file>\n       longread summarize [options] --collection <name>')
      .argument('[file]', 'the document; left out with --collection')
      .option('--collection <name>', "each document's summary in this collection (its name or number)")
      .option('--chapter <n>', 'only section N (1 = the first section of the document)', intOption(1))
      .option('--length <length>', 'short or detailed', choiceOption(['short', 'detailed'] as const), 'short')
      .option('--regenerate', 'ignore cached summaries')
      .option('--no-ocr', NO_OCR_HELP),
  ).action(async (a: string | undefined, flags: EngineFlags & { chapter?: number; length: 'short' | 'detailed'; regenerate?: boolean; collection?: string; ocr: boolean }, cmd: Command) => {
    const { file } = fileOrCollection(cmd, [a], 0, flags);
    if (file === null) {
      await summarizeCollection(flags);
      return;
    }
    await withAssistant(flags, async ({ library, assistant, signal, progress }) => {
      const documentId = await addFile(library, file, progress, signal, flags.ocr);
      let streamed = false;
      const job = assistant.summarize(
        { documentId, section: chapterIndex(library, documentId, flags.chapter), length: flags.length, regenerate: flags.regenerate, modelId: flags.model },
        jobEvents(progress, (t) => {
          if (flags.json) return;
          streamed = true;
          process.stdout.write(t);
        }),
        { signal },
      );
      const r: SummaryOutcome = await job.result;
      if (flags.json) {
        process.stdout.write(
          JSON.stringify({
            summary: r.summary,
            kind: r.kind,
            sections: r.sections.map((s) => ({ chapter: s.index + 1, title: s.title, summary: s.summary })),
            citations: r.citations.map(citationJson),
            cached: r.cached,
            model: r.model,
            documentId,
          }) + '\n',
        );
        return;
      }
      if (!streamed) process.stdout.write(r.summary);
      process.stdout.write('\n');
      if (flags.chapter === undefined && r.sections.length > 0) {
        process.stdout.write('\nBy chapter:\n');
        for (const s of r.sections) process.stdout.write(`\n## ${s.title}\n${s.summary}\n`);
      }
      if (r.kind === 'extractive') process.stderr.write(`\n(extractive summary: sentences from the text, chosen by ${r.model})\n`);
      if (r.cached) process.stderr.write('(summary from the cache)\n');
    });
  });

  engineOptions(
    program
      .command('prepare')
      .description('Make a document ready for fast questions: run the question-independent part of reading it (VCC local layers) once and keep it.')
      .argument('<file>', 'the document (added to the library first if needed)')
      .option('--no-ocr', NO_OCR_HELP),
  ).action(async (file: string, flags: EngineFlags & { ocr: boolean }) => {
    await withAssistant(flags, async ({ library, assistant, signal, progress }) => {
      const documentId = await addFile(library, file, progress, signal, flags.ocr);
      const r = await assistant.prepare({ documentId, modelId: flags.model }, jobEvents(progress, () => {}), { signal }).result;
      progress.stop();
      const store = { storeBytes: library.engineState.totalBytes(), capBytes: library.engineState.capBytes };
      if (flags.json) {
        process.stdout.write(JSON.stringify({ ...r, ...store }) + '\n');
        return;
      }
      const doc = library.documents.get(documentId)!;
      const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
      process.stdout.write(
        r.alreadyStored === r.segments
          ? `"${doc.title}" was ready for fast questions already (${r.segments} segments, ${r.model}).\n`
          : `"${doc.title}" is ready for fast questions: ${r.segments - r.alreadyStored} of ${r.segments} segments prepared in ${(r.ms / 1000).toFixed(1)} s (${r.model}).\n`,
      );
      process.stderr.write(`Prepared states use ${gib(store.storeBytes)} of ${gib(store.capBytes)} (Settings → stateCacheGiB; the least recently used go first).\n`);
    });
  });
  async function summarizeCollection(flags: EngineFlags & { length: 'short' | 'detailed'; regenerate?: boolean; collection?: string }): Promise<void> {
    await withAssistant(flags, async ({ library, assistant, signal, progress }) => {
      const collection = collectionArg(library, flags.collection!);
      const job = assistant.summarizeCollection({ collectionId: String(collection.id), length: flags.length, regenerate: flags.regenerate, modelId: flags.model }, jobEvents(progress, () => {}), { signal });
      const r: CollectionSummaryOutcome = await job.result;
      progress.stop();
      if (flags.json) {
        const documents = r.documents.map((d) => ({
          documentId: d.documentId,
          title: d.title,
          summary: d.summary.summary,
          kind: d.summary.kind,
          sections: d.summary.sections.map((s) => ({ chapter: s.index + 1, title: s.title, summary: s.summary })),
          citations: d.summary.citations.map(citationJson),
          cached: d.summary.cached,
        }));
        process.stdout.write(JSON.stringify({ collection: r.collection, documents, cached: r.cached, model: r.model }) + '\n');
        return;
      }
      for (const d of r.documents) process.stdout.write(`## ${d.title}\n${d.summary.summary}\n\n`);
      if (r.documents.some((d) => d.summary.kind === 'extractive')) process.stderr.write(`(extractive summaries: sentences from each text, chosen by ${r.model})\n`);
      if (r.cached) process.stderr.write('(summaries from the cache)\n');
    });
  }

  const models = program.command('models').description('The models the assistant can use.');
  const printModels = (list: ModelInfo[], json?: boolean) => {
    if (json) {
      process.stdout.write(JSON.stringify({ models: list }) + '\n');
      return;
    }
    if (list.length === 0) console.log('No model is installed; import one with `longread models import DIR`.');
    for (const m of list) {
      console.log(`${m.active ? '*' : ' '} ${m.id.padEnd(24)} ${m.bundled ? 'bundled ' : 'imported'} ${m.summaries.padEnd(11)} ${m.precision} ${(m.parameters / 1e6).toFixed(1).padStart(7)}M  ${m.dir}`);
    }
  };
  models
    .command('list')
    .description('List the models (* = active).')
    .option('--json', 'print JSON')
    .action(async (flags: EngineFlags) => {
      await withAssistant(flags, async ({ assistant }) => printModels(assistant.models.list(), flags.json));
    });
  models
    .command('import')
    .description(
      'Import a Hugging Face T5 / Flan-T5 model and make it active: a folder (config.json, safetensors or pytorch_model.bin weights, tokenizer.json), a Hugging Face cache snapshot, or a repo id already in the cache (e.g. google/flan-t5-base; nothing is downloaded).',
    )
    .argument('<dir-or-repo-id>', 'the model folder, or a repo id in the Hugging Face cache')
    .option('--precision <p>', 'fp32 or int8 (linear layers quantized per output channel; smaller and faster, answers may differ slightly)', choiceOption(PRECISIONS), 'fp32')
    .option('--json', 'print JSON')
    .action(async (arg: string, flags: EngineFlags) => {
      const dir = resolveModelSource(arg);
      await withAssistant(flags, async ({ library, assistant, progress }) => {
        const m = await assistant.models.import(
          dir,
          (p) => {
            const { done, total } = p as { done: number; total: number };
            progress.show('copying', total ? done / total : 1);
          },
          flags.precision,
        );
        progress.stop();
        syncSetting(library.home, m.id);
        if (flags.json) process.stdout.write(JSON.stringify({ model: m }) + '\n');
        else console.log(`Imported ${m.name} as "${m.id}" (${(m.parameters / 1e6).toFixed(1)}M parameters); it is now the active model.`);
      });
    });
  models
    .command('cached')
    .description('List the T5 models in the Hugging Face cache that `longread models import REPO_ID` can import (offline).')
    .option('--json', 'print JSON')
    .action(async (flags: EngineFlags) => {
      const list = await listCachedModels();
      if (flags.json) {
        process.stdout.write(JSON.stringify({ cache: hubCacheDir(), models: list }) + '\n');
        return;
      }
      if (list.length === 0) console.log(`No T5 model in the Hugging Face cache at ${hubCacheDir()}.`);
      for (const m of list) console.log(`  ${m.repoId.padEnd(40)} ${(m.sizeBytes / 1e6).toFixed(1).padStart(9)} MB  ${m.path}`);
    });
  models
    .command('use')
    .description('Make a model the active one.')
    .argument('<id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: EngineFlags) => {
      await withAssistant(flags, async ({ library, assistant }) => {
        const list = assistant.models.setActive(id);
        syncSetting(library.home, id);
        printModels(list, flags.json);
      });
    });
  models
    .command('precision')
    .description("Set the precision a model's engine runs in: fp32, or int8 (its graphs are quantized once, on first use).")
    .argument('<id>', 'model id')
    .argument('<precision>', 'fp32 or int8', choiceOption(PRECISIONS))
    .option('--json', 'print JSON')
    .action(async (id: string, precision: Precision, flags: EngineFlags) => {
      await withAssistant(flags, async ({ assistant }) => printModels(assistant.models.setPrecision(id, precision), flags.json));
    });
  models
    .command('remove')
    .description('Remove an imported model (the bundled one stays).')
    .argument('<id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: EngineFlags) => {
      await withAssistant(flags, async ({ library, assistant }) => {
        const list = await assistant.models.remove(id);
        const store = new SettingsStore(library.home);
        if (store.get().model === id) store.set({ model: null });
        printModels(list, flags.json);
      });
    });
}

/** The app reads its model choice from settings.json: keep it in step with the CLI's choice. */
function syncSetting(home: string, id: string): void {
  const store = new SettingsStore(home);
  if (store.get().model !== id) store.set({ model: id });
}
