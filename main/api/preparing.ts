import type { AssistantLike } from './assistant-host';
import type { ApiContext } from './types';

/**
 * Starts preparing a document for fast questions (a background job, one at a time per document:
 * a second call while one is queued or running answers with that job's id). Jobs it leaves to
 * the assistant's queue, which puts them behind questions and summaries; not counted against
 * the job cap, so that adding many books never makes a question wait for a slot.
 */
export function startPreparing(ctx: ApiContext, assistant: AssistantLike, documentId: string, modelId?: string): string {
  const known = ctx.preparing.get(documentId);
  if (known) return known;
  const job = assistant.prepare({ documentId, modelId }, ctx.emit);
  ctx.preparing.set(documentId, job.jobId);
  const done = () => {
    if (ctx.preparing.get(documentId) === job.jobId) ctx.preparing.delete(documentId);
  };
  job.result.then(done, done);
  return job.jobId;
}

/** After a document is added: prepare it in the background when Settings → prepareAfterAdd says so and a model can open. */
export async function prepareAfterAdd(ctx: ApiContext, documentId: string): Promise<void> {
  if (!ctx.settings.get().prepareAfterAdd) return;
  try {
    startPreparing(ctx, await ctx.assistant.get(), documentId);
  } catch {
    // no model to prepare with (none imported, or it fails to open): questions will say so
  }
}
