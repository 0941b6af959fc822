import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BUNDLED_PRECISION, ModelRegistry } from '../../main/assistant/models';
import { tinyModelDir, tempDir } from '../helpers/tiny-model';

const facts = async () => ({ hash: 'x', parameters: 0, numLayers: 2, vocabSize: 64 });

test("a model's precision: chosen at import, kept in its record, changed per model, part of its fingerprint", async () => {
  const home = tempDir('longread-home-');
  const bundledDir = await tinyModelDir({}, 'bundled');
  const registry = new ModelRegistry(home, bundledDir);
  assert.equal(registry.get('default').precision, BUNDLED_PRECISION);

  const plain = await registry.import(await tinyModelDir({ seed: 2 }, 'plain'), facts);
  const small = await registry.import(await tinyModelDir({ seed: 3 }, 'small'), facts, undefined, 'int8');
  assert.equal(plain.precision, 'fp32', 'an import is fp32 unless it says otherwise');
  assert.equal(small.precision, 'int8');
  assert.equal(JSON.parse(readFileSync(path.join(small.dir, 'longread-model.json'), 'utf8')).precision, 'int8', 'kept with the import record');
  assert.deepEqual(
    registry.list().map((m) => [m.id, m.precision]),
    [['default', BUNDLED_PRECISION], ['plain', 'fp32'], ['small', 'int8']],
  );

  const before = registry.fingerprint(registry.get('plain'));
  assert.equal(registry.setPrecision('plain', 'int8').precision, 'int8');
  assert.notEqual(registry.fingerprint(registry.get('plain')), before, 'int8 answers are cached apart, and a new engine opens');
  assert.equal(registry.get('small').precision, 'int8', 'the other models keep theirs');
  assert.equal(registry.get('plain').name, 'plain', 'the rest of the record is kept');

  // the bundled folder is never written (it may be read-only): its choice lives in the models folder
  const other = BUNDLED_PRECISION === 'fp32' ? 'int8' : 'fp32';
  registry.setPrecision('default', other);
  assert.equal(new ModelRegistry(home, bundledDir).get('default').precision, other);
  assert.equal(readFileSync(path.join(bundledDir, 'config.json'), 'utf8').includes('precision'), false);

  // a damaged or unknown value falls back to the default rather than failing the list
  writeFileSync(path.join(small.dir, 'longread-model.json'), JSON.stringify({ name: 'small', precision: 'int4' }));
  assert.equal(registry.get('small').precision, 'fp32');
});
