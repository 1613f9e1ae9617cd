"""The trainer on a real (tiny) checkpoint: examples, objective, optimisation, checkpoint and resume."""

import json
import math
import os
import random

from gliner2_udf import GLiNER2, Schema
from gliner2_udf.labels import LabelLimits, read_limits
from gliner2_udf.processor import Processor
from gliner2_udf.training.examples import Augment, build_example
from gliner2_udf.training.trainer import TrainConfig, train

DEFAULT_MODEL = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "gliner2-minilm-default"
)
PEOPLE = ["ada lovelace", "alan turing", "grace hopper", "tim cook", "carla diaz"]
ORGS = ["acme", "globex", "initech"]


def records(n=120, seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p, o = rng.choice(PEOPLE), rng.choice(ORGS)
        text = f"{p} joined {o} in paris."
        ps, os_ = 0, text.index(o)
        out.append(
            {
                "text": text,
                "entities": {"person": [[ps, ps + len(p)]], "company": [[os_, os_ + len(o)]], "date": []},
                "classifications": [{"task": "topic", "labels": ["business", "sports"], "true": ["business"]}],
                "structures": [
                    {
                        "name": "hire",
                        "fields": ["employee", "employer", "status"],
                        "choices": {"status": ["hired", "fired"]},
                        "instances": [
                            {"employee": [[ps, ps + len(p)]], "employer": [[os_, os_ + len(o)]], "status": "hired"}
                        ],
                    }
                ],
            }
        )
    return out


def test_example_targets_point_at_the_gold_words(tiny_checkpoint):
    model = GLiNER2.from_pretrained(tiny_checkpoint)
    proc = Processor(model.tokenizer)
    rec = records(1)[0]
    orders = set()
    for seed in range(12):
        ex = build_example(rec, proc, random.Random(seed), Augment(drop_negative_entity=0.0))
        ent = next(t for t in ex.span_tasks if t.always_query)  # the entity task
        assert ent.count == 1
        hire = next(t for t in ex.span_tasks if not t.always_query)
        assert hire.count == 1 and len(hire.gold) == 3
        n_prefix = ex.encoded.n_prefix
        assert n_prefix > 0
        starts = sorted(g[2] - n_prefix for g in ent.gold)
        assert starts == [0, 3]  # the person starts at word 0, the company at word 3
        widths = {g[2] - n_prefix: g[3] for g in ent.gold}
        assert widths[0] == 1 and widths[3] == 0
        choice_gold = [g for g in hire.gold if g[2] < n_prefix]
        assert len(choice_gold) == 1 and choice_gold[0][3] == 0
        orders.add(tuple(ex.encoded.ids))
    assert len(orders) > 1, "label and task order must vary between draws"


def test_training_learns_and_resumes(tmp_path, tiny_checkpoint):
    data = tmp_path / "records.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records()))
    out = tmp_path / "run"
    cfg = dict(
        records=[str(data)],
        out=str(out),
        init=tiny_checkpoint,
        batch_size=8,
        lr_encoder=1e-3,
        lr_heads=3e-3,
        warmup=0.1,
        save_every=1000,
        log_every=1000,
        seed=0,
    )
    lines = []
    train(TrainConfig(steps=150, **cfg), log=lines.append)
    state = json.loads((out / "train_config.json").read_text())
    assert state["step"] == 150
    # the checkpoint records what training covered: inference never asks it more labels in one pass
    assert read_limits(str(out / "checkpoint")) == LabelLimits(25, 20)
    model = GLiNER2.from_pretrained(str(out / "checkpoint"))
    schema = (
        Schema()
        .entities(["person", "company", "date"])
        .structure("hire")
        .field("employee", dtype="str")
        .field("employer", dtype="str")
        .field("status", dtype="str", choices=["hired", "fired"])
    )
    got = model.extract("grace hopper joined initech in paris.", schema)
    assert got["hire"] and got["hire"][0]["status"] == "hired"
    assert "grace hopper" in got["entities"]["person"]

    # the same command with more steps resumes from step 150 instead of starting again
    lines.clear()
    train(TrainConfig(steps=160, **cfg), log=lines.append)
    assert any("resumed from step 150" in line for line in lines)
    assert json.loads((out / "train_config.json").read_text())["step"] == 160


def test_freeze_encoder_trains_the_heads_only(tmp_path, tiny_checkpoint):
    from gliner2_udf.checkpoint import read_state_dict

    data = tmp_path / "records.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records(16)))
    cfg = TrainConfig(
        records=[str(data)], out=str(tmp_path / "run"), init=tiny_checkpoint, steps=3, batch_size=4, freeze_encoder=True
    )
    before, after = read_state_dict(tiny_checkpoint), read_state_dict(train(cfg, log=lambda _: None))
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert changed and all(not k.startswith("encoder.") for k in changed)


def test_cpu_bf16_autocast_trains_and_saves_fp32_weights(tmp_path, tiny_checkpoint):
    """``cpu_bf16``: the forward runs in bf16 autocast on the CPU, the weights stay and are saved in fp32."""
    from gliner2_udf.checkpoint import read_state_dict

    data = tmp_path / "records.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records(16)))
    cfg = TrainConfig(
        records=[str(data)], out=str(tmp_path / "run"), init=tiny_checkpoint, steps=4, batch_size=4, cpu_bf16=True
    )
    lines = []
    before, after = read_state_dict(tiny_checkpoint), read_state_dict(train(cfg, log=lines.append))
    assert all(t.dtype == before[k].dtype for k, t in after.items())
    assert any(k.startswith("encoder.") and not (before[k] == after[k]).all() for k in before)
    losses = [float(line.split(" loss ")[1].split()[0]) for line in lines if " loss " in line]
    assert losses and all(math.isfinite(x) for x in losses)


def test_length_buckets_cut_padding_and_keep_every_example(tiny_checkpoint):
    """``bucket``: the same examples as unbucketed batches, in batches of similar length (less padding)."""
    from gliner2_udf.checkpoint import load_checkpoint
    from gliner2_udf.training.trainer import RecordStream

    rng = random.Random(3)
    recs = [
        {"text": " ".join(rng.choice(PEOPLE) for _ in range(rng.randint(1, 30))), "entities": {"person": []}}
        for _ in range(64)
    ]
    _, tokenizer = load_checkpoint(tiny_checkpoint)

    def batches(bucket):
        stream = iter(RecordStream(recs, tokenizer, seed=0, augment=Augment(), batch_size=8, bucket=bucket))
        return [next(stream) for _ in range(8)]

    def padding(bs):
        return sum(int((1 - b["batch"].attention_mask).sum()) for b in bs)

    def contents(bs):
        return sorted(
            tuple(row[m.astype(bool)]) for b in bs for row, m in zip(b["batch"].input_ids, b["batch"].attention_mask)
        )

    plain, bucketed = batches(0), batches(8)
    assert contents(plain) == contents(bucketed)  # one pool of 8 batches: the same 64 examples
    assert padding(bucketed) < padding(plain) / 3


def test_eval_per_checkpoint_keeps_the_best_and_resumes_with_it(tmp_path, tiny_checkpoint):
    """``evaluate``: the start is scored, then every ``eval_every`` steps; only a checkpoint above every earlier
    score (the start's included) is copied to ``best``; a resumed run keeps the best score."""
    data = tmp_path / "records.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records(32)))
    out = tmp_path / "run"
    scores = iter([0.50, 0.40, 0.70, 0.60, 0.65, 0.90])  # start, steps 2, 4, 6; then (resumed) steps 8, 10
    seen = []

    def evaluate(folder):
        seen.append(folder)
        return next(scores)

    cfg = dict(records=[str(data)], out=str(out), init=tiny_checkpoint, batch_size=4, eval_every=2, log_every=100)
    lines = []
    train(TrainConfig(steps=6, **cfg), log=lines.append, evaluate=evaluate)
    assert seen[0] == tiny_checkpoint and len(seen) == 4
    assert json.loads((out / "best.json").read_text()) == {"step": 4, "score": 0.70}
    assert (out / "best" / "model.safetensors").is_file()
    assert any("score 0.4000, not above the best 0.5000" in line for line in lines)

    train(TrainConfig(steps=10, **cfg), log=lines.append, evaluate=evaluate)
    assert len(seen) == 6  # the start is not scored again on resume
    assert any("step 8: score 0.6500, not above the best 0.7000" in line for line in lines)
    assert json.loads((out / "best.json").read_text()) == {"step": 10, "score": 0.90}


def test_an_example_longer_than_the_encoder_is_skipped():
    """512 positions (MiniLM's): 100 labels of 7 words (800 tokens) do not fit, 20 of them (160) do."""
    from gliner2_udf.checkpoint import load_checkpoint

    _, tokenizer = load_checkpoint(DEFAULT_MODEL)
    proc = Processor(tokenizer)
    labels = [f"intent number {i} of the long list" for i in range(100)]
    rec = {
        "text": "wake me up at seven",
        "classifications": [{"task": "intent", "labels": labels, "true": [labels[0]]}],
    }
    aug = Augment(max_cls_labels=100, drop_cls_label=0.0)
    assert build_example(rec, proc, random.Random(0), aug) is None
    assert build_example(rec, proc, random.Random(0), Augment(max_cls_labels=20, drop_cls_label=0.0)) is not None


def test_a_resumed_run_keeps_the_time_its_budget_already_spent(tmp_path, tiny_checkpoint):
    """``max_minutes`` counts training time across stops: a run resumed after its budget is spent stops at once."""
    import torch

    data = tmp_path / "records.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records(16)))
    cfg = dict(records=[str(data)], out=str(tmp_path / "run"), init=tiny_checkpoint, batch_size=4, log_every=100)
    train(TrainConfig(steps=4, **cfg), log=lambda _: None)
    spent = torch.load(tmp_path / "run" / "trainer_state.pt", weights_only=True)["minutes"]
    assert spent > 0
    train(TrainConfig(steps=10**6, max_minutes=spent, **cfg), log=lambda _: None)
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["step"] == 4
