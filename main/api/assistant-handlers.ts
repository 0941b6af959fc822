import type { ModelInfo, Precision } from '../../common/api';
import { LongreadError } from '../../common/errors';
import { listCachedModels } from '../assistant/hf-cache';
import { jobInfoOf, type AssistantLike } from './assistant-host';
import { startPreparing } from './preparing';
import { stateCacheBytes } from './settings';
import { requireDocument } from './library-handlers';
import type { ApiContext, Handlers } from './types';

export function assistantHandlers(ctx: ApiContext): Handlers<
  'assistant.ask' | 'assistant.summarize' | 'assistant.askCollection' | 'assistant.summarizeCollection' | 'assistant.prepare' | 'assistant.readiness' | 'assistant.cancel' | 'assistant.jobs' | 'settings.get' | 'settings.set' | 'models.list' | 'models.cached' | 'models.import' | 'models.pick' | 'models.use' | 'models.remove' | 'models.setPrecision'
> {
  const emitJob = ctx.emit;
  // a job's result promise is consumed through its events; keep a rejected one from going unhandled
  // and hold a job slot until it settles, so no caller can queue jobs without bound
  const start = async (submit: (assistant: AssistantLike) => { jobId: string; result: Promise<unknown> }) => {
    const release = ctx.gates.jobs.tryEnter();
    try {
      const job = submit(await ctx.assistant.get());
      job.result.then(release, release);
      return { jobId: job.jobId };
    } catch (e) {
      release();
      throw e;
    }
  };
  const models = async (a?: AssistantLike): Promise<ModelInfo[]> => [...(await (a ?? (await ctx.assistant.get())).models.list())];
  const modelsChanged = () => ctx.emit({ type: 'models-changed' });

  return {
    'assistant.ask': async (req) => {
      requireDocument(ctx, req.documentId);
      if (req.chatId && !ctx.library.chats.list().some((c) => c.id === Number(req.chatId))) {
        throw new LongreadError('chat-not-found', `There is no chat ${req.chatId}.`);
      }
      return start((assistant) => assistant.ask(req, emitJob));
    },

    'assistant.summarize': async (req) => {
      requireDocument(ctx, req.documentId);
      return start((assistant) => assistant.summarize(req, emitJob));
    },

    'assistant.askCollection': async (req) => {
      ctx.library.collections.nonEmpty(req.collectionId); // an unknown or empty collection is refused before a job starts
      if (req.chatId && !ctx.library.chats.list().some((c) => c.id === Number(req.chatId))) {
        throw new LongreadError('chat-not-found', `There is no chat ${req.chatId}.`);
      }
      return start((assistant) => assistant.askCollection(req, emitJob));
    },

    'assistant.summarizeCollection': async (req) => {
      ctx.library.collections.nonEmpty(req.collectionId); // an unknown or empty collection is refused before a job starts
      return start((assistant) => assistant.summarizeCollection(req, emitJob));
    },

    'assistant.prepare': async (req) => {
      requireDocument(ctx, req.documentId);
      return { jobId: startPreparing(ctx, await ctx.assistant.get(), req.documentId, req.modelId) };
    },

    'assistant.readiness': async ({ documentIds }) => {
      let assistant: AssistantLike;
      try {
        assistant = await ctx.assistant.get();
      } catch {
        const store = ctx.library.engineState;
        return { ready: [], storeBytes: store.totalBytes(), capBytes: store.capBytes };
      }
      return assistant.readiness(documentIds);
    },

    'assistant.cancel': async ({ jobId }) => {
      if (!ctx.assistant.isOpen) return { cancelled: false };
      return { cancelled: (await ctx.assistant.get()).cancel(jobId) };
    },

    'assistant.jobs': async () => {
      if (!ctx.assistant.isOpen) return { jobs: [] };
      const jobs = await (await ctx.assistant.get()).jobs();
      return { jobs: jobs.map(jobInfoOf).filter((j) => j !== null) };
    },

    'settings.get': () => ctx.settings.get(),

    'settings.set': async (update) => {
      const before = ctx.settings.get();
      if (update.model !== undefined && update.model !== null && update.model !== before.model) {
        await (await ctx.assistant.get()).models.setActive(update.model);
        modelsChanged();
      }
      const after = ctx.settings.set(update);
      if (after.stateCacheGiB !== before.stateCacheGiB) {
        ctx.library.engineState.capBytes = stateCacheBytes(after);
        ctx.library.engineState.evict();
      }
      if (after.provider !== before.provider || after.threads !== before.threads || after.compression !== before.compression || after.stateCacheGiB !== before.stateCacheGiB) {
        await ctx.assistant.restart();
      }
      ctx.emit({ type: 'settings-changed', settings: after });
      return after;
    },

    'models.list': async () => ({ models: await models() }),

    'models.cached': async () => ({ models: await listCachedModels() }),

    'models.import': async ({ dir, precision }) => {
      const model = await importModel(ctx, dir, precision);
      return { model };
    },

    'models.pick': async () => {
      if (!ctx.desktop) throw new LongreadError('unsupported', 'Choosing a folder needs the desktop app; give the folder path instead.');
      const dir = await ctx.desktop.pickModelFolder();
      return { model: dir ? await importModel(ctx, dir) : null };
    },

    'models.use': async ({ id }) => {
      const assistant = await ctx.assistant.get();
      await assistant.models.setActive(id);
      const settings = ctx.settings.set({ model: id });
      ctx.emit({ type: 'settings-changed', settings });
      modelsChanged();
      return { models: await models(assistant) };
    },

    'models.remove': async ({ id }) => {
      const assistant = await ctx.assistant.get();
      await assistant.models.remove(id);
      if (ctx.settings.get().model === id) ctx.emit({ type: 'settings-changed', settings: ctx.settings.set({ model: null }) });
      modelsChanged();
      return { models: await models(assistant) };
    },

    'models.setPrecision': async ({ id, precision }) => {
      const assistant = await ctx.assistant.get();
      await assistant.models.setPrecision(id, precision);
      modelsChanged();
      return { models: await models(assistant) };
    },
  };
}

async function importModel(ctx: ApiContext, dir: string, precision?: Precision): Promise<ModelInfo> {
  const release = ctx.gates.imports.tryEnter();
  try {
    return await importModelNow(ctx, dir, precision);
  } finally {
    release();
  }
}

async function importModelNow(ctx: ApiContext, dir: string, precision?: Precision): Promise<ModelInfo> {
  const assistant = await ctx.assistant.get();
  const model = await assistant.models.import(
    dir,
    (p) => {
      const progress = p as { done?: unknown; total?: unknown } | null;
      if (progress && typeof progress.done === 'number' && typeof progress.total === 'number') {
        ctx.emit({ type: 'model-import-progress', dir, done: progress.done, total: progress.total });
      }
    },
    precision,
  );
  ctx.emit({ type: 'models-changed' });
  return model;
}
