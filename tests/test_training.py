"""The trainer on a real (tiny) checkpoint: examples, objective, optimisation, checkpoint and resume."""

import json
import math
import random

from gliner2_udf import GLiNER2, Schema
from gliner2_udf.labels import LabelLimits, read_limits
from gliner2_udf.processor import Processor
from gliner2_udf.training.examples import Augment, build_example
from gliner2_udf.training.trainer import TrainConfig, train

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
