#!/usr/bin/env bash
# Native ALiBi / T5 (issue #13): the RoPE base's six stages (assets/checkpoints/course/MODEL_CARD.md)
# with --positional <family> --workers 1, then the base report, the generated card and the
# evaluation on the main experiment's examples. Usage (from the repository root, after committing):
#   src/tools/native_pretrain.sh alibi & src/tools/native_pretrain.sh t5 &   # one core each
# Resumable: a finished stage is skipped; an unfinished one resumes from its latest.safetensors.
set -euo pipefail
p=$1; B=build/native_$p; D=assets/checkpoints/course/native_$p
mkdir -p "$B"
P="--preset course --positional $p --workers 1"
steps_done() { [ -f "$1" ] && echo $(($(wc -l < "$1") - 1)) || echo 0; }
stage() { # stage <id> <steps before it counts as done> <flags...>
  local id=$1 need=$2; shift 2
  if [ "$(steps_done "$B/stage$id/curve.csv")" -ge "$need" ]; then echo "skip stage $id"; return; fi
  echo "=== $p stage $id $(date -u +%T)"
  deno task pretrain $P "$@" --out "$B/stage$id" 2>&1 | tee -a "$B/train_stage$id.log" | grep -E '^done' || true
  [ "$(steps_done "$B/stage$id/curve.csv")" -ge "$need" ] || { echo "stage $id did not finish"; exit 1; }
}
stage 1 700 --steps 1800 --batch 16 --lr 2e-3 --seed 0 --stop-after 700
stage 2 600 --steps 600 --batch 16 --lr 1.5e-3 --warmup 30 --seed 1 --task-fraction 0.45 \
  --copy-fraction 0.45 --init-from "$B/stage1/latest.safetensors"
stage 3a 800 --seq-len 64 --steps 800 --batch 32 --lr 2e-3 --warmup 20 --task-fraction 0 \
  --copy-fraction 1 --copy-max-distance 30 --answer-weight 100 --seed 2 \
  --init-from "$B/stage2/model.safetensors" --checkpoint-every 100
stage 3b 600 --seq-len 128 --steps 1000 --batch 16 --lr 1.5e-3 --warmup 20 --task-fraction 0.4 \
  --copy-fraction 0.5 --copy-max-distance 128 --copy-digits --answer-weight 10 --seed 3 \
  --init-from "$B/stage3a/model.safetensors" --checkpoint-every 100 --stop-after 600
stage 3c 300 --steps 300 --batch 16 --lr 1e-3 --warmup 20 --task-fraction 0.45 --copy-fraction 0.2 \
  --copy-max-distance 256 --copy-digits --answer-weight 10 --seed 4 \
  --init-from "$B/stage3b/latest.safetensors" --checkpoint-every 50
stage 3d 400 --steps 400 --batch 16 --lr 1e-3 --warmup 20 --task-fraction 0.45 --copy-fraction 0.2 \
  --copy-max-distance 256 --copy-digits --answer-weight 10 --seed 6 --wordings varied \
  --init-from "$B/stage3c/model.safetensors" --checkpoint-every 100
mkdir -p "$D"
cp "$B/stage3d/model.safetensors" "$D/model.safetensors"
for id in 1 2 3a 3b 3c 3d; do
  cp "$B/stage$id/curve.csv" "$D/curve_stage$id.csv"; cp "$B/train_stage$id.log" "$D/train_stage$id.log"
done
deno run -A src/eval/base_report.ts --checkpoint "$D/model.safetensors" --wordings varied
deno run -A src/tools/native_card.ts --family "$p" --dir "$D"
deno task retrofit --preset course --base "$D/model.safetensors" --task base --seeds 0 \
  --out "assets/results/course_ablations/native_$p"
