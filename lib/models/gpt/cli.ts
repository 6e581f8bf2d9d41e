// Command-line entry points for GPT: `cudagrad train gpt` (args.ts, train.ts),
// `cudagrad generate` (streaming generation with the KV cache) and
// `cudagrad finetune classify` (finetune.ts).
import { defaultDevice, setDefaultDevice } from '../../device';
import type { Device } from '../../device';
import { parseTrainGPTArgs, TRAIN_GPT_USAGE } from './args';
import { finetuneClassify, FINETUNE_USAGE, parseFinetuneArgs } from './finetune';
import { loadGPT } from './load';
import { TextStream } from './tokenizer';
import { trainGPT } from './train';

function fail(cmd: string, e: unknown, usage: string): void {
  console.error(`${cmd}: ${(e as Error).message}\n\n${usage}`);
  process.exitCode = 2;
}

export async function trainGPTCommand(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseTrainGPTArgs(argv, defaultDevice());
  } catch (e) {
    return fail('cudagrad train gpt', e, TRAIN_GPT_USAGE);
  }
  if (args === 'help') return void console.log(TRAIN_GPT_USAGE);
  await trainGPT(args);
}

export const GENERATE_USAGE = `usage: cudagrad generate --checkpoint DIR [options]

Generates text with a trained GPT, streaming tokens as they come; a KV cache makes
each new token cost one position.

options:
  --checkpoint DIR   model folder written by cudagrad train gpt (config.json +
                     model.safetensors; a Hugging Face GPT-2 folder works too), or a
                     checkpoint.safetensors file
  --prompt TEXT      text to continue (default: a newline)
  --max-tokens N     tokens to generate (default 500)
  --temperature T    softmax temperature (default 0.8); 0 is greedy (deterministic)
  --top-k K          sample among the K most likely tokens (default 200)
  --top-p P          nucleus sampling: the most likely tokens with probability mass P (default 1)
  --seed S           sampler seed (default 0)
  --device cpu|cuda  device (default: the default device)
  --no-kv-cache      recompute the whole context for every token (for comparison)
  -h, --help         this help`;

export async function generateCommand(argv: string[]): Promise<void> {
  const o = { checkpoint: '', prompt: '\n', maxTokens: 500, temperature: 0.8, topK: 200 as number | null, topP: 1, seed: 0, device: undefined as Device | undefined, kvCache: true };
  try {
    for (let i = 0; i < argv.length; i++) {
      const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
      if (flag === '-h' || flag === '--help') return void console.log(GENERATE_USAGE);
      if (flag === '--no-kv-cache') {
        o.kvCache = false;
        continue;
      }
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      const n = Number(v);
      const need = (ok: boolean, what: string) => {
        if (!ok) throw new Error(`${flag} needs ${what}, got ${v}`);
      };
      if (flag === '--checkpoint') o.checkpoint = v;
      else if (flag === '--prompt') o.prompt = v;
      else if (flag === '--max-tokens') need(Number.isSafeInteger((o.maxTokens = n)) && n >= 0, 'an integer >= 0');
      else if (flag === '--temperature') need((o.temperature = n) >= 0 && Number.isFinite(n), 'a number >= 0');
      else if (flag === '--top-k') need(Number.isSafeInteger((o.topK = n)) && n >= 1, 'an integer >= 1');
      else if (flag === '--top-p') need((o.topP = n) > 0 && n <= 1, 'a number in (0, 1]');
      else if (flag === '--seed') need(Number.isSafeInteger((o.seed = n)) && n >= 0, 'an integer >= 0');
      else if (flag === '--device') need(['cpu', 'cuda'].includes((o.device = v as Device)) || /^cuda:\d+$/.test(v), 'cpu or cuda');
      else throw new Error(`unknown option '${argv[i]}'`);
    }
    if (!o.checkpoint) throw new Error('--checkpoint DIR is required');
  } catch (e) {
    return fail('cudagrad generate', e, GENERATE_USAGE);
  }
  if (o.device) setDefaultDevice(o.device);
  const { model, tokenizer } = loadGPT(o.checkpoint, o.device);
  let prompt: number[];
  try {
    prompt = tokenizer.encode(o.prompt);
  } catch (e) {
    throw new Error(`--prompt: ${(e as Error).message}`);
  }
  if (!prompt.length) throw new Error('--prompt encodes to no tokens');
  const stream = new TextStream(tokenizer);
  process.stdout.write(o.prompt);
  const t0 = performance.now();
  const ids = model.generate(prompt, {
    maxNewTokens: o.maxTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    seed: o.seed,
    kvCache: o.kvCache,
    onToken: (id) => process.stdout.write(stream.push(id)),
  });
  process.stdout.write(stream.flush() + '\n');
  const s = (performance.now() - t0) / 1000;
  console.error(`[${ids.length} tokens in ${s.toFixed(2)} s: ${(ids.length / s).toFixed(1)} tokens/s, ${o.kvCache ? 'KV cache' : 'no KV cache'}, ${model.lmHead.device}]`);
  model.dispose();
}

export async function finetuneCommand(argv: string[]): Promise<void> {
  const [task, ...rest] = argv;
  if (task === undefined || task === '-h' || task === '--help') return void console.log(FINETUNE_USAGE);
  if (task !== 'classify') return fail('cudagrad finetune', new Error(`unknown task '${task}' (available: classify; LM fine-tuning is cudagrad train gpt --init-from DIR --data FILE)`), FINETUNE_USAGE);
  let args;
  try {
    args = parseFinetuneArgs(rest);
  } catch (e) {
    return fail('cudagrad finetune classify', e, FINETUNE_USAGE);
  }
  if (args === 'help') return void console.log(FINETUNE_USAGE);
  await finetuneClassify(args);
}
