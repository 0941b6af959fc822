import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { LongreadError } from '../../common/errors';
import { Engine, type AttentionMode } from '../../engine/engine';
import { PRECISIONS, type Precision } from '../../engine/graph/quantize';
import type { ExecutionProvider } from '../../engine/runtime/onnx';
import { resolveSettings, type VccLayout } from '../../engine/vcc/settings';
import { choiceOption, idListOption, intOption } from './options';

interface GenerateFlags {
  model: string;
  input?: string;
  inputIds?: number[];
  maxNewTokens?: number;
  numBeams?: number;
  threads?: number;
  provider: ExecutionProvider;
  precision: Precision;
  json?: boolean;
  attention: AttentionMode;
  vipTokens?: number;
  blockSize?: number;
  fineBlocks?: number;
  groupBlocks?: number;
  keptGroups?: number;
  decoderBlocks?: number;
  localLayers?: number;
  segment?: number;
  layout: VccLayout;
  dumpEncoder?: string;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Run a T5 model on one input and print what it generates (a low-level engine check).')
    .requiredOption('--model <dir>', 'Hugging Face T5 / Flan-T5 model folder')
    .option('--input <text>', 'input text (tokenized with the model tokenizer, </s> appended)')
    .option('--input-ids <ids>', 'input token ids, comma-separated (used as given)', idListOption)
    .option('--max-new-tokens <n>', "tokens to generate at most (default: generation_config.json's max_new_tokens, else 32)", intOption(1))
    .option('--num-beams <n>', "beam width, 1 = greedy (default: generation_config.json's num_beams, else 1)", intOption(1))
    .option('--threads <n>', 'intra-op threads (default: one per physical core)', intOption(1))
    .option('--provider <name>', 'execution provider: cpu, cuda or dml (falls back to cpu)', choiceOption(['cpu', 'cuda', 'dml'] as const), 'cpu')
    .option('--precision <p>', 'weights of the linear layers: fp32, or int8 (quantized per output channel when the graphs are built)', choiceOption(PRECISIONS), 'fp32')
    .option('--attention <mode>', 'dense or vcc', choiceOption(['dense', 'vcc'] as const), 'dense')
    .option('--vip-tokens <n>', 'VIP tokens: the first N input tokens (vcc)', intOption(1))
    .option('--block-size <n>', 'VCC block size k', intOption(1))
    .option('--fine-blocks <n>', 'VCC fine blocks h per layer', intOption(0))
    .option('--group-blocks <n>', 'VCC blocks per group: a group with no fine block, unless kept, is one state (1: two levels, as the paper)', intOption(1))
    .option('--kept-groups <n>', 'VCC groups without a fine block kept at block resolution per layer', intOption(0))
    .option('--decoder-blocks <n>', "VCC: blocks of the last layer's choice the decoder reads token by token, every other block as its mean (0: every token)", intOption(0))
    .option('--local-layers <n>', 'lower layers with local attention (vcc)', intOption(0))
    .option('--segment <n>', 'local attention segment size (vcc)', intOption(1))
    .option('--layout <name>', 'paper or cached (vcc)', choiceOption(['paper', 'cached'] as const), 'paper')
    .option('--dump-encoder <file>', 'write the final encoder states as raw little-endian float32, n × d')
    .option('--json', 'print one JSON object: outputIds, text, inputIds (what the encoder was fed), firstStepLogits, …')
    .action(async (flags: GenerateFlags) => {
      await runGenerate(flags);
    });
}

async function runGenerate(flags: GenerateFlags): Promise<void> {
  if ((flags.input === undefined) === (flags.inputIds === undefined)) {
    throw new LongreadError('invalid-argument', 'give exactly one of --input TEXT or --input-ids IDS');
  }
  const warnings: string[] = [];
  const engine = await Engine.open(path.resolve(flags.model), {
    threads: flags.threads,
    provider: flags.provider,
    precision: flags.precision,
    onWarning: (w) => {
      warnings.push(w);
      if (!flags.json) process.stderr.write(`warning: ${w}\n`);
    },
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const tokenizer = flags.input !== undefined ? await engine.tokenizer() : undefined;
    const ids = flags.inputIds ?? tokenizer!.encode(flags.input!, { addEos: true });
    const vip = Math.min(flags.vipTokens ?? resolveSettings(engine.config.numLayers, { blockSize: flags.blockSize }).vipTokens, ids.length);
    const started = performance.now();
    const encoded = await engine.encode({
      queryIds: ids.slice(0, vip),
      documentIds: ids.slice(vip),
      attention: flags.attention,
      vcc: {
        vipTokens: flags.vipTokens,
        blockSize: flags.blockSize,
        fineBlocks: flags.fineBlocks,
        groupBlocks: flags.groupBlocks,
        keptGroups: flags.keptGroups,
        decoderBlocks: flags.decoderBlocks,
        localLayers: flags.localLayers,
        segment: flags.segment,
        layout: flags.layout,
      },
      signal: controller.signal,
    });
    const encodeMs = performance.now() - started;
    if (flags.dumpEncoder) {
      const h = encoded.hidden;
      writeFileSync(flags.dumpEncoder, Buffer.from(h.buffer, h.byteOffset, h.byteLength));
    }
    const decodeTokenizer = tokenizer ?? (await engine.tokenizer().catch(() => undefined));
    let printed = '';
    const streamed: number[] = [];
    const result = await engine.generate(encoded, {
      maxNewTokens: flags.maxNewTokens ?? engine.generationDefaults.maxNewTokens ?? 32,
      numBeams: flags.numBeams ?? engine.generationDefaults.numBeams ?? 1,
      signal: controller.signal,
      onToken: (id) => {
        streamed.push(id);
        if (flags.json || !decodeTokenizer) return;
        const text = decodeTokenizer.decode(streamed, { skipSpecial: true });
        if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
        printed = text;
      },
    });
    const text = decodeTokenizer ? decodeTokenizer.decode(result.outputIds, { skipSpecial: true }) : null;
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({
          outputIds: result.outputIds,
          text,
          firstStepLogits: Array.from(result.firstStepLogits),
          inputTokens: ids.length,
          inputIds: ids,
          attention: encoded.attention,
          settings: encoded.settings ?? null,
          compressedLengths: encoded.compressedLengths,
          decoderStates: (encoded.decoderMemory ?? encoded).n,
          evidence: encoded.evidence,
          provider: engine.model.provider,
          precision: engine.model.precision,
          warnings,
          timingsMs: { encode: Math.round(encodeMs), total: Math.round(performance.now() - started) },
        }) + '\n',
      );
    } else if (decodeTokenizer) {
      process.stdout.write('\n');
    } else {
      process.stdout.write(result.outputIds.join(',') + '\n');
    }
  } finally {
    process.off('SIGINT', onSigint);
    await engine.close();
  }
}
