import type { CountingModel, TokenCounter } from '../../common/document';
import { loadTokenizer } from '../../engine/tokenizer';

/** Counts a text's tokens as the engine feeds them (no </s>), with the model's own tokenizer. */
export async function tokenCounterFor(model: CountingModel): Promise<TokenCounter> {
  const tokenizer = await loadTokenizer(model.dir);
  return { modelId: model.modelId, count: (text) => tokenizer.encode(text, { addEos: false }).length };
}

/** As tokenCounterFor, but null when the tokenizer cannot be loaded: the document is still added, its count unknown. */
export async function tokenCounterOrNull(model: CountingModel | null | undefined): Promise<TokenCounter | null> {
  if (!model) return null;
  try {
    return await tokenCounterFor(model);
  } catch {
    return null;
  }
}
