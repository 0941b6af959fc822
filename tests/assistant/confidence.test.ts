import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerConfidence, contentFreeQuestion } from '../../main/assistant/qa';

test('the content-free question keeps only the wh-words readers ask with', () => {
  assert.equal(contentFreeQuestion('Who is the chief mate of the Pequod?'), 'Who?');
  assert.equal(contentFreeQuestion('whom does Ahab refuse to help?'), 'Whom?');
  assert.equal(contentFreeQuestion('How many daughters does Mrs. Bennet have?'), 'How many?');
  assert.equal(contentFreeQuestion('In which county is Darcy’s estate?'), 'In which?');
  assert.equal(contentFreeQuestion('  Where does Queequeg come from?'), 'Where?');
  assert.equal(contentFreeQuestion('Name the ship Ahab commands.'), 'What?');
  assert.equal(contentFreeQuestion('Whose squire was Tashtego?'), 'Whose?');
  assert.equal(contentFreeQuestion('Whoever said that?'), 'What?', 'a wh-word must be a whole word');
});

test('confidence is the geometric mean of the answer tokens’ probabilities, 0 for no answer', () => {
  assert.equal(answerConfidence(Math.log(0.25) * 2, 2, 'Pequod'), 0.25);
  assert.equal(answerConfidence(0, 0, ''), 0);
  assert.equal(answerConfidence(-1, 3, '  '), 0);
});
