import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LongreadError } from '../../common/errors';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import { findCachedRepo, hubCacheDir, listCachedModels, resolveModelSource } from '../../main/assistant/hf-cache';
import { ModelRegistry } from '../../main/assistant/models';
import { cacheRepo } from '../helpers/hf-cache';
import { tinyModelDir, tempDir } from '../helpers/tiny-model';
import { repoRoot } from '../library/helpers/corpus';
import { cleanupAll, tempHome } from './helpers';

after(cleanupAll);

const COMMIT_A = 'a'.repeat(40);
const COMMIT_B = 'b'.repeat(40);

async function rejectsWith(fn: () => unknown, code: string, mentions: string[]): Promise<LongreadError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LongreadError, `expected a LongreadError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const m of mentions) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} should mention ${m}`);
  return err;
}

describe('Hugging Face cache', () => {
  test('the cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' }), '/x/hub');
    assert.equal(hubCacheDir({ HF_HOME: '/y' }), '/y/hub');
    assert.equal(hubCacheDir({ HOME: '/home/u' }).endsWith(path.join('.cache', 'huggingface', 'hub')), true);
  });

  test('a repo id resolves to the snapshot refs/main names, else the newest; a missing one says where it looked', async () => {
    const hub = path.join(tempDir('longread-hf-'), 'hub');
    const model = await tinyModelDir({}, 'flan');
    const a = cacheRepo(hub, 'google/flan-t5-tiny', model, COMMIT_A);
    const b = cacheRepo(hub, 'google/flan-t5-tiny', model, COMMIT_B, false);
    const env = { HF_HUB_CACHE: hub };
    assert.equal(findCachedRepo('google/flan-t5-tiny', env), a, 'refs/main wins over the newer snapshot');
    writeFileSync(path.join(hub, 'models--google--flan-t5-tiny', 'refs', 'main'), 'c'.repeat(40));
    utimesSync(a, new Date(2000, 1, 1), new Date(2000, 1, 1));
    assert.equal(findCachedRepo('google/flan-t5-tiny', env), b, 'a ref to a missing snapshot falls back to the newest');
    assert.equal(resolveModelSource('google/flan-t5-tiny', { HF_HOME: path.dirname(hub) }, tempDir()), b, 'HF_HOME/hub');
    assert.equal(resolveModelSource(path.join(hub, 'models--google--flan-t5-tiny'), env), b, 'a repo folder means its snapshot');
    assert.equal(resolveModelSource(a, env), a, 'a folder is itself');
    const err = await rejectsWith(() => findCachedRepo('google/flan-t5-xxl', env), 'model-not-found', ['google/flan-t5-xxl', path.join(hub, 'models--google--flan-t5-xxl'), 'HF_HUB_CACHE', 'downloads nothing']);
    assert.equal(err.file, path.join(hub, 'models--google--flan-t5-xxl'));
    await rejectsWith(() => resolveModelSource('google/nope', { HF_HUB_CACHE: path.join(hub, 'absent') }, tempDir()), 'model-not-found', [path.join(hub, 'absent')]);
  });

  test('the cached list offers T5 models only, with the bytes an import copies', async () => {
    const hub = path.join(tempDir('longread-hf-'), 'hub');
    const model = await tinyModelDir({}, 'flan');
    const snapshot = cacheRepo(hub, 'google/flan-t5-tiny', model, COMMIT_A);
    // not T5
    const bert = path.join(tempDir(), 'bert');
    cpSync(model, bert, { recursive: true });
    writeFileSync(path.join(bert, 'config.json'), JSON.stringify({ model_type: 'bert' }));
    cacheRepo(hub, 'someone/bert', bert, COMMIT_A);
    // weights never downloaded: a dangling link
    const partial = cacheRepo(hub, 'someone/partial', model, COMMIT_A);
    const target = path.resolve(partial, readlinkSync(path.join(partial, 'model.safetensors')));
    renameSync(target, `${target}.incomplete`);
    const list = await listCachedModels({ HF_HUB_CACHE: hub });
    assert.deepEqual(list.map((m) => m.repoId), ['google/flan-t5-tiny']);
    const expected = readdirSync(model).reduce((n, f) => n + statSync(path.join(model, f)).size, 0);
    assert.deepEqual(list[0], { repoId: 'google/flan-t5-tiny', path: snapshot, sizeBytes: expected });
    assert.deepEqual(await listCachedModels({ HF_HUB_CACHE: path.join(hub, 'absent') }), []);
  });
});

describe('import validates the copy it keeps', () => {
  test('validation runs on the copy under models/, and an error names the source folder', async () => {
    const home = tempDir('longread-home-');
    const source = await tinyModelDir({}, 'my-model');
    for (const f of readdirSync(source)) chmodSync(path.join(source, f), 0o644);
    const registry = new ModelRegistry(home, path.join(home, 'no-bundled'));
    const seen: string[] = [];
    const validate = async (dir: string) => {
      seen.push(dir);
      const c = await loadCheckpoint(dir);
      return { hash: c.hash, parameters: 0, numLayers: c.config.numLayers, vocabSize: c.config.vocabSize };
    };
    const entry = await registry.import(source, validate);
    assert.equal(seen.length, 1);
    assert.notEqual(seen[0], source);
    assert.equal(path.dirname(seen[0]!), registry.root, 'the copy, inside the models folder');
    assert.equal(entry.dir, path.join(registry.root, 'my-model'));
    if (process.platform !== 'win32') {
      // the models folder, the copy and its record are the owner's only, whatever the source's modes
      const mode = (f: string) => statSync(f).mode & 0o777;
      for (const d of [registry.root, entry.dir]) assert.equal(mode(d), 0o700, d);
      for (const f of readdirSync(entry.dir)) assert.equal(mode(path.join(entry.dir, f)), 0o600, f);
      assert.equal(mode(path.join(registry.root, 'active.json')), 0o600);
      registry.setPrecision('my-model', 'int8');
      assert.equal(mode(path.join(entry.dir, 'longread-model.json')), 0o600, 'rewritten record');
    }

    // damaged weights: the error is about the user's folder, and nothing is left behind
    const bad = await tinyModelDir({}, 'damaged');
    const weights = path.join(bad, 'model.safetensors');
    truncateSync(weights, statSync(weights).size - 100);
    const err = await rejectsWith(() => registry.import(bad, validate), 'safetensors-truncated', [weights]);
    assert.equal(err.file, weights);
    assert.ok(!err.message.includes('.import-'), err.message);
    assert.deepEqual(readdirSync(registry.root).filter((f) => f.startsWith('.import-')), []);
  });

  test('a cache snapshot imports its files (not links) under the repo name; only the weights the loader reads are copied', async () => {
    const home = tempDir('longread-home-');
    const hub = path.join(tempDir('longread-hf-'), 'hub');
    const model = await tinyModelDir({}, 'flan');
    writeFileSync(path.join(model, 'pytorch_model.bin'), 'not read: safetensors wins');
    writeFileSync(path.join(model, 'flax_model.msgpack'), 'other framework');
    const snapshot = cacheRepo(hub, 'google/flan-t5-tiny', model, COMMIT_A);
    const registry = new ModelRegistry(home, path.join(home, 'no-bundled'));
    const entry = await registry.import(snapshot, async (d) => {
      await loadCheckpoint(d);
      return { hash: '', parameters: 0, numLayers: 0, vocabSize: 0 };
    });
    assert.equal(entry.id, 'flan-t5-tiny');
    assert.equal(entry.name, 'google/flan-t5-tiny');
    const files = readdirSync(entry.dir).sort();
    assert.ok(files.includes('model.safetensors') && files.includes('tokenizer.json'));
    assert.ok(!files.includes('pytorch_model.bin') && !files.includes('flax_model.msgpack'), files.join(', '));
    for (const f of files) assert.ok(lstatSync(path.join(entry.dir, f)).isFile(), `${f} is a real file`);
  });
});

const PYTHON = process.env.LONGREAD_TORCH_PYTHON ?? '/usr/bin/python3';
const noTorch = spawnSync(PYTHON, ['-c', 'import torch']).status === 0 ? false : `needs PyTorch (${PYTHON} -c "import torch" failed)`;

function longread(home: string, env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, LONGREAD_HOME: home, LONGREAD_MODEL: path.join(home, 'no-bundled'), ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

test('CLI: models cached, import by repo id and by snapshot path (a pytorch_model.bin-only fine-tune), offline', { skip: noTorch }, async () => {
  const home = tempHome();
  const hub = path.join(tempHome(), 'hub');
  // a fine-tune that ships only pytorch_model.bin, as torch.save wrote it
  const src = await tinyModelDir({ variant: 't5-v1.1' }, 'src');
  const bin = path.join(tempDir(), 'bin');
  mkdirSync(bin);
  for (const f of readdirSync(src)) if (f.endsWith('.json')) cpSync(path.join(src, f), path.join(bin, f));
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'torch_save_t5.py');
  const py = spawnSync(PYTHON, [script, src, bin, 'BF16'], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const snapshot = cacheRepo(hub, 'someone/flan-t5-finetune', bin, COMMIT_A);
  const env = { HF_HUB_CACHE: hub };

  const cached = longread(home, env, 'models', 'cached', '--json');
  assert.equal(cached.code, 0, cached.stderr);
  assert.deepEqual(cached.json().models.map((m: { repoId: string; path: string }) => [m.repoId, m.path]), [['someone/flan-t5-finetune', snapshot]]);

  const byId = longread(home, env, 'models', 'import', 'someone/flan-t5-finetune', '--json');
  assert.equal(byId.code, 0, byId.stderr);
  const m = byId.json().model;
  assert.deepEqual([m.id, m.name, m.active], ['flan-t5-finetune', 'someone/flan-t5-finetune', true]);
  assert.ok(m.parameters > 0);
  assert.ok(lstatSync(path.join(m.dir, 'pytorch_model.bin')).isFile());

  const byPath = longread(home, env, 'models', 'import', snapshot, '--json');
  assert.equal(byPath.code, 0, byPath.stderr);
  assert.equal(byPath.json().model.id, 'flan-t5-finetune-2');

  const missing = longread(home, env, 'models', 'import', 'google/flan-t5-base', '--json');
  assert.equal(missing.code, 1);
  const e = missing.json().error;
  assert.equal(e.code, 'model-not-found');
  assert.ok(e.message.includes(path.join(hub, 'models--google--flan-t5-base')), e.message);
});
