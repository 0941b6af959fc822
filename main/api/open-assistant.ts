import { LongreadError } from '../../common/errors';
import type { AssistantLike, AssistantOpenOptions } from './assistant-host';

// TEMPORARY until main/assistant/assistant.ts is committed: resolved at run time.
const ASSISTANT_MODULE = '../assistant/assistant';

/** Opens the real assistant (`main/assistant/assistant.ts`): the engine on a worker thread. */
export async function openAssistant(options: AssistantOpenOptions): Promise<AssistantLike> {
  let mod: { Assistant: { open(o: AssistantOpenOptions): Promise<AssistantLike> | AssistantLike } };
  try {
    mod = await import(ASSISTANT_MODULE);
  } catch (e) {
    throw new LongreadError('assistant-unavailable', 'The assistant is not available in this build.', { cause: e });
  }
  return mod.Assistant.open(options);
}
