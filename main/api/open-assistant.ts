import { LongreadError } from '../../common/errors';
import type { AssistantLike, AssistantOpenOptions } from './assistant-host';

type AssistantModule = { Assistant: { open(options: AssistantOpenOptions): Promise<AssistantLike> | AssistantLike } };

/** Opens the real assistant (`main/assistant/assistant.ts`): the engine on a worker thread. */
export async function openAssistant(options: AssistantOpenOptions): Promise<AssistantLike> {
  let mod: AssistantModule;
  try {
    mod = (await import('../assistant/assistant')) as unknown as AssistantModule;
  } catch (e) {
    throw new LongreadError('assistant-unavailable', 'The assistant is not part of this build (main/assistant is missing).', { cause: e });
  }
  return mod.Assistant.open(options);
}
