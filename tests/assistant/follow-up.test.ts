import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { qaFollowUpQuery, qaQueryIds, qaQueryText } from '../../engine/qa-format';
import { loadTokenizer } from '../../engine/tokenizer';
import { book, cleanupAll, needsBook, openTiny } from './helpers';
import { repoRoot } from '../library/helpers/corpus';

after(cleanupAll);

const BOOK = 'books/pg2701.txt';

test('a follow-up in a chat is read with the turn before it: VIP query, full-text windows and the answer cache', needsBook(BOOK), async () => {
  // a small limit so windows are chosen by full-text search; every answer shown; 'fast' gives 192 VIP tokens
  const o = await openTiny({ maxDocumentTokens: 8192, confidentAt: 0, compression: 'fast' });
  const { document } = await o.library.add(book(BOOK)!);
  const ask = (question: string, chatId?: string) => o.assistant.ask({ documentId: document.id, question, ...(chatId ? { chatId } : {}) }, () => {}).result;

  const first = await ask('Who is the captain of the Pequod?');
  assert.equal(first.engine!.query, 'question: Who is the captain of the Pequod? context:', 'a first question is read alone');
  assert.ok(first.answer.length > 0);

  const follow = await ask('and who is his wife?', first.chatId);
  assert.equal(follow.chatId, first.chatId);
  assert.equal(follow.cached, false);
  const flatAnswer = first.answer.replace(/\s+/g, ' ').trim();
  assert.equal(follow.engine!.query, `previous question: Who is the captain of the Pequod? previous answer: ${flatAnswer} question: and who is his wife? context:`);
  assert.match(follow.read.note!, /full-text search found [^:]*\bpequod\b[^:]*\bwife\b/, 'the windows are chosen with the previous question\'s words too');

  // the same words without the chat are another query: read alone, not served the follow-up's answer
  const alone = await ask('and who is his wife?');
  assert.notEqual(alone.chatId, first.chatId);
  assert.equal(alone.cached, false);
  assert.equal(alone.engine!.query, 'question: and who is his wife? context:');
  assert.ok(alone.engine!.queryTokens < follow.engine!.queryTokens);
  assert.doesNotMatch(alone.read.note ?? '', /pequod/);

  // the same two turns in a new chat: the follow-up's answer comes from the cache, keyed on the query read
  const again = await ask('Who is the captain of the Pequod?');
  assert.equal(again.cached, true);
  const followAgain = await ask('and who is his wife?', again.chatId);
  assert.equal(followAgain.cached, true);
  assert.equal(followAgain.answer, follow.answer);
  assert.deepEqual(followAgain.read, follow.read);

  // asked again in its chat, a question follows what it followed the first time (not itself)
  const repeated = await ask('And who is his wife', first.chatId);
  assert.equal(repeated.cached, true);
  assert.equal(repeated.answer, follow.answer);

  // the chat holds the follow-up's own question, not the query made of it
  const messages = o.library.chats.messages(Number(first.chatId));
  assert.deepEqual(messages.map((m) => [m.role, m.content]), [
    ['user', 'Who is the captain of the Pequod?'],
    ['assistant', first.answer],
    ['user', 'and who is his wife?'],
    ['assistant', follow.answer],
    ['user', 'And who is his wife'],
    ['assistant', follow.answer],
  ]);
});

const bundled = path.join(repoRoot, 'models', 'default');
test('the follow-up query stays within the VIP budget: the previous answer is cut first, then the previous question; the question is never cut', async (t) => {
  if (!existsSync(path.join(bundled, 'tokenizer.json'))) return t.skip(`${bundled} is absent`);
  const tok = await loadTokenizer(bundled);
  const question = 'and who is his wife?';
  const alone = qaQueryIds(tok, question);
  const previous = { question: 'Who is the captain of the Pequod, the whaling ship of Nantucket?', answer: 'Captain Ahab, a grand, ungodly, god-like man who has been in colleges as well as among the cannibals' };
  const whole = qaFollowUpQuery(tok, question, previous, 1000);
  assert.equal(whole.text, qaQueryText(question, previous));
  assert.deepEqual(whole.ids, tok.encode(whole.text, { addEos: false }));

  for (const budget of [alone.length, alone.length + 4, alone.length + 12, whole.ids.length - 3, whole.ids.length - 1, whole.ids.length]) {
    const q = qaFollowUpQuery(tok, question, previous, budget);
    assert.ok(q.ids.length <= budget, `${q.ids.length} tokens within ${budget}`);
    assert.deepEqual(q.ids, tok.encode(q.text, { addEos: false }));
    assert.ok(q.text.endsWith('question: and who is his wife? context:'), q.text);
    if (budget === whole.ids.length) assert.equal(q.text, whole.text);
    if (budget === alone.length) assert.equal(q.text, qaQueryText(question), 'no room: the question alone');
    const m = /^previous question: (.*?)(?: previous answer: (.*?))? question: and who/.exec(q.text);
    if (!m) continue;
    // what is kept is the previous question's end and the answer's beginning, and the answer only with the whole question
    assert.ok(previous.question.endsWith(m[1]!), m[1]);
    if (m[2] !== undefined) {
      assert.equal(m[1], previous.question);
      assert.ok(previous.answer.startsWith(m[2]), m[2]);
    }
    // and as much as fits: one more word would not
    assert.ok(budget - q.ids.length < 8 || q.text === whole.text, `${budget - q.ids.length} tokens left unused`);
  }
  // a question over the budget on its own is read alone (cut by nothing here)
  assert.equal(qaFollowUpQuery(tok, question, previous, alone.length - 1).text, qaQueryText(question));
  assert.equal(qaFollowUpQuery(tok, question, null, 1000).text, qaQueryText(question));
  assert.equal(qaQueryText(question, { question: 'Who?', answer: '' }), 'previous question: Who? question: and who is his wife? context:');
});
