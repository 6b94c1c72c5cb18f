/**
 * `deno task bench train [--lengths 256,2048] [--steps 3] [--no-peer]`: training tokens/s of the
 * course model (the pretraining step: forward, backward, clipping, AdamW) on the CPU path (tfjs
 * wasm) at T = L0 and 8 x L0, and, in the same run, the identical architecture in PyTorch on the
 * CPU (Debian's python3-torch at /usr/bin/python3, a peer only). Writes `assets/bench/train.csv`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { modelConfig } from "../model/config.ts";
import { Decoder } from "../model/decoder.ts";
import { AdamW, clipByGlobalNorm } from "../train/adamw.ts";
import { presetFromEnv } from "../model/presets.ts";
import { writeFileAtomic } from "../util/atomic.ts";

/** Tokens per batch of the bench (B = this / T, at least 1). */
const TOKENS_PER_STEP = 4096;

function tfjsTokensPerSecond(seqLen: number, batch: number, steps: number): number {
  const model = Decoder.create(modelConfig(presetFromEnv()), 0);
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  const opt = new AdamW(model.params);
  const data = tf.randomUniform([batch, seqLen + 1], 0, 256, "int32", 1) as tf.Tensor2D;
  const step = () => {
    const { value, grads } = tf.variableGrads(() => model.loss(data), vars);
    const named = new Map(names.map((n, i) => [n, grads[vars[i].name]]));
    const { grads: clipped } = clipByGlobalNorm(named, 1);
    opt.apply(clipped, 1e-3);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads), ...clipped.values()]);
  };
  step(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const tps = (steps * batch * seqLen) / ((performance.now() - t0) / 1000);
  data.dispose();
  opt.dispose();
  model.dispose();
  return tps;
}

async function torchTokensPerSecond(seqLen: number, batch: number, steps: number): Promise<number> {
  const p = presetFromEnv();
  const script = new URL("./train_peer.py", import.meta.url).pathname;
  const args = [
    script,
    p.dModel,
    p.numLayers,
    p.numHeads,
    p.headDim,
    p.mlpHidden,
    seqLen,
    batch,
    steps,
    2,
  ]
    .map(String);
  const out = await new Deno.Command("/usr/bin/python3", { args, stderr: "inherit" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = text.match(/tokens_per_s=([\d.]+)/);
  if (!out.success || !m) throw new Error(`PyTorch peer failed: ${text}`);
  return Number(m[1]);
}

/** Runs the benchmark and writes assets/bench/train.csv. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      lengths: { type: "string" },
      steps: { type: "string", default: "3" },
      "no-peer": { type: "boolean", default: false },
    },
  });
  const { backend } = await initBackend();
  const p = presetFromEnv();
  const lengths = values.lengths?.split(",").map(Number) ?? [p.contextLength, p.targetLength];
  const steps = Number(values.steps);
  const rows: string[] = [];
  for (const t of lengths) {
    const batch = Math.max(1, Math.floor(TOKENS_PER_STEP / t));
    const ours = tfjsTokensPerSecond(t, batch, steps);
    const peer = values["no-peer"] ? NaN : await torchTokensPerSecond(t, batch, steps);
    console.log(
      `T=${t} B=${batch}: tfjs-${backend} ${ours.toFixed(0)} tok/s, PyTorch CPU ${
        peer.toFixed(0)
      } tok/s, ` +
        `ratio ${(ours / peer).toFixed(2)}`,
    );
    rows.push(`${p.name},${t},${batch},${steps},tfjs-${backend},${ours.toFixed(1)}`);
    rows.push(`${p.name},${t},${batch},${steps},pytorch-cpu-2threads,${peer.toFixed(1)}`);
  }
  await writeFileAtomic(
    "assets/bench/train.csv",
    "preset,seq_len,batch,steps,impl,tokens_per_s\n" + rows.join("\n") + "\n",
  );
  console.log("wrote assets/bench/train.csv");
}
