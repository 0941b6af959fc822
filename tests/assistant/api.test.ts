import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ApiEvent, ApiResult, AskResult, SummaryResult } from '../../common/api';
import { AppApi } from '../../main/api/api';
import { openAssistant } from '../../main/api/open-assistant';
import { book, cleanupAll, needsBook, tempHome, tinyModel } from './helpers';

after(cleanupAll);

const BOOK = 'books/pg84.txt';

function value<T>(r: ApiResult): T {
  assert.equal(r.ok, true, JSON.stringify(r).slice(0, 400));
  return (r as unknown as { value: T }).value;
}

function ended(events: ApiEvent[], jobId: string): Promise<ApiEvent> {
  return new Promise((resolve) => {
    const tick = () => {
      const e = events.find((x) => 'jobId' in x && x.jobId === jobId && ['done', 'error', 'cancelled'].includes(x.type));
      if (e) resolve(e);
      else setTimeout(tick, 10);
    };
    tick();
  });
}

test('the app API drives the real assistant: models, ask with streamed tokens and a chat, summary, jobs, cancel', needsBook(BOOK), async () => {
  const home = tempHome();
  const api = AppApi.open({ home, mode: 'browser', openAssistant, modelDir: await tinyModel() });
  const events: ApiEvent[] = [];
  api.onEvent((e) => events.push(e));
  try {
    const models = value<{ models: Array<{ id: string; active: boolean; bundled: boolean }> }>(await api.call('models.list', {})).models;
    assert.deepEqual(models.map((m) => [m.id, m.bundled, m.active]), [['default', true, true]]);
    const added = value<{ added: Array<{ document: { id: string } }> }>(await api.call('library.add', { paths: [book(BOOK)!] }));
    const documentId = added.added[0]!.document.id;

    const { jobId } = value<{ jobId: string }>(await api.call('assistant.ask', { documentId, question: 'Who was Beaufort?', sections: { from: 4, to: 4 } }));
    const end = await ended(events, jobId);
    assert.equal(end.type, 'done');
    const result = (end as { result: AskResult }).result;
    const streamed = events.filter((e) => e.type === 'token' && e.jobId === jobId).map((e) => (e as { text: string }).text).join('');
    assert.equal(streamed, result.answer);
    assert.ok(result.citations.length > 0);
    const chat = value<{ messages: Array<{ role: string }> }>(await api.call('chats.messages', { chatId: result.chatId }));
    assert.deepEqual(chat.messages.map((m) => m.role), ['user', 'assistant']);

    const summary = value<{ jobId: string }>(await api.call('assistant.summarize', { documentId, section: 4, length: 'short' }));
    const sEnd = await ended(events, summary.jobId);
    assert.equal(sEnd.type, 'done');
    assert.equal((sEnd as { result: SummaryResult }).result.kind, 'extractive');

    // a running job shows in assistant.jobs and can be cancelled through the API
    const long = value<{ jobId: string }>(await api.call('assistant.ask', { documentId, question: 'Where does the story end?' }));
    await new Promise<void>((resolve) => {
      const tick = () => (events.some((e) => e.type === 'progress' && e.jobId === long.jobId && e.stage === 'encoding') ? resolve() : setTimeout(tick, 10));
      tick();
    });
    const jobs = value<{ jobs: Array<{ jobId: string; state: string; kind: string }> }>(await api.call('assistant.jobs', {})).jobs;
    assert.deepEqual(jobs.filter((j) => j.kind !== 'prepare').map((j) => [j.jobId, j.kind, j.state]), [[long.jobId, 'ask', 'running']]);
    // the book added is prepared for fast questions in the background, behind the questions
    assert.ok(jobs.some((j) => j.kind === 'prepare' && j.state === 'queued'), JSON.stringify(jobs));
    assert.equal(value<{ cancelled: boolean }>(await api.call('assistant.cancel', { jobId: long.jobId })).cancelled, true);
    assert.equal((await ended(events, long.jobId)).type, 'cancelled');
  } finally {
    await api.close();
  }
});
