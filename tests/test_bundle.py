"""The Databricks Asset Bundle, checked structurally offline: includes, variables, the scheduled job's
cron expression and parameters, task wiring, and that every notebook and file it names exists and
declares the widgets the job passes."""

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = re.compile(r"\$\{([a-z_]+)\.([A-Za-z0-9_.]+)\}")
WIDGET = re.compile(r"""dbutils\.widgets\.(?:text|dropdown|combobox|multiselect)\(\s*["']([^"']+)["']""")
QUARTZ = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 1, 7),
]
NAMES = {4: "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 5: "SUN MON TUE WED THU FRI SAT".split()}


def load(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def bundle():
    root = load(os.path.join(ROOT, "databricks.yml"))
    files = sorted({f for pattern in root["include"] for f in glob.glob(os.path.join(ROOT, pattern))})
    return root, {f: load(f) for f in files}


def jobs(bundle):
    _, files = bundle
    out = {}
    for f, doc in files.items():
        for key, job in doc["resources"]["jobs"].items():
            assert key not in out, f"job {key} defined twice"
            out[key] = (f, job)
    return out


def resolve(value, variables):
    return REF.sub(lambda m: str(variables[m.group(2)]) if m.group(1) == "var" else m.group(0), str(value))


def widgets(notebook_path):
    with open(notebook_path) as fh:
        return WIDGET.findall(fh.read())


def quartz_errors(expr):
    """Problems with a Quartz cron expression (Databricks' schedule format); empty when valid."""
    parts = expr.split()
    if len(parts) not in (6, 7):
        return [f"expected 6 or 7 fields (seconds first), got {len(parts)}"]
    errors = []
    for i, (name, lo, hi) in enumerate(QUARTZ):
        field = parts[i].upper()
        if field in ("*", "?"):
            if field == "?" and i not in (3, 5):
                errors.append(f"{name}: '?' only for day of month or day of week")
            continue
        for item in field.split(","):
            base, _, step = item.partition("/")
            if step and not step.isdigit():
                errors.append(f"{name}: bad step {item!r}")
            for v in [] if base == "*" else base.split("-"):
                n = NAMES[i].index(v) + 1 if i in NAMES and v in NAMES[i] else v
                if not str(n).isdigit() or not lo <= int(n) <= hi:
                    errors.append(f"{name}: {v!r} outside {lo}-{hi}")
    if (parts[3] == "?") == (parts[5] == "?"):
        errors.append("exactly one of day of month and day of week must be '?'")
    return errors


def test_quartz_checker_itself():
    assert quartz_errors("0 0 2 * * ?") == [] and quartz_errors("0 30 6 ? * MON-FRI") == []
    assert quartz_errors("0 2 * * *") == ["expected 6 or 7 fields (seconds first), got 5"]
    assert quartz_errors("0 0 25 * * ?") == ["hour: '25' outside 0-23"]
    assert quartz_errors("0 0 2 * * *") == ["exactly one of day of month and day of week must be '?'"]


def test_bundle_root(bundle):
    root, files = bundle
    assert root["bundle"]["name"] == "gliner2-udf"
    assert set(files) == set(glob.glob(os.path.join(ROOT, "resources", "*.yml"))) and len(files) >= 2
    assert [t for t, v in root["targets"].items() if v.get("default")] == ["dev"]
    assert root["targets"]["dev"]["mode"] == "development" and root["targets"]["prod"]["mode"] == "production"
    wheel = root["artifacts"]["gliner2_udf_wheel"]
    assert wheel["type"] == "whl" and "--wheel-dir dist" in wheel["build"]
    assert os.path.isfile(os.path.join(ROOT, wheel["path"], "setup.py"))


def test_every_reference_is_defined(bundle):
    root, files = bundle
    variables = root["variables"]
    texts = [open(os.path.join(ROOT, "databricks.yml")).read()] + [open(f).read() for f in files]
    refs = {m for t in texts for m in REF.findall(t)}
    assert refs, "the jobs should take their settings from variables"
    for kind, name in refs:
        assert kind in ("var", "workspace", "bundle"), (kind, name)
        if kind == "var":
            assert name in variables and "default" in variables[name], name
    for target in root["targets"].values():
        assert set(target.get("variables", {})) <= set(variables)


def test_extract_job_schedule_and_parameters(bundle):
    root, _ = bundle
    f, job = jobs(bundle)["gliner2_extract"]
    variables = {k: v["default"] for k, v in root["variables"].items()}
    sched = job["schedule"]
    for target in root["targets"].values():
        values = {**variables, **target.get("variables", {})}
        assert quartz_errors(resolve(sched["quartz_cron_expression"], values)) == []
        assert resolve(sched["pause_status"], values) in ("PAUSED", "UNPAUSED")
    assert resolve(sched["pause_status"], {**variables, **root["targets"]["prod"]["variables"]}) == "UNPAUSED"
    assert sched["timezone_id"] == "UTC" and job["max_concurrent_runs"] == 1
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert len(params) == len(job["parameters"])
    extract_nb = os.path.join(os.path.dirname(f), job["tasks"][0]["notebook_task"]["notebook_path"])
    assert set(params) == set(widgets(extract_nb))  # every widget settable, no stray parameter
    config = params["config"].replace("${workspace.file_path}", ROOT)
    assert os.path.isfile(config), config
    # how the job runs is the configuration file's: those parameters are empty, so the file's values hold
    assert {k: params[k] for k in ("schema", "mode", "precision", "backend", "limit", "overrides")} == dict.fromkeys(
        ("schema", "mode", "precision", "backend", "limit", "overrides"), ""
    )


def test_the_scheduled_job_runs_the_shipped_setting(bundle):
    """The scheduled notebook's configuration, with the bundle's variables as its widgets, validates and runs what
    conf/local.yaml (the job users run with spark-submit) runs: precision, backend, batch sizes, schema."""
    from gliner2_udf.config import load_config
    from gliner2_udf.notebooks import job_config, model_uri

    root, _ = bundle
    _, job = jobs(bundle)["gliner2_extract"]
    variables = {k: v["default"] for k, v in root["variables"].items()}
    params = {p["name"]: resolve(p["default"], variables) for p in job["parameters"]}
    cwd = os.getcwd()
    os.chdir(ROOT)  # as the notebook does: the file's relative paths are the bundle root's
    try:
        cfg = job_config(
            params["config"].replace("${workspace.file_path}", ROOT),
            input_table=params["input_table"],
            output_table=params["output_table"],
            model=model_uri(params["model_name"], params["model_alias"]),
        )
        local = load_config("conf/local.yaml")
    finally:
        os.chdir(cwd)
    assert (cfg.input.format, cfg.input.table, cfg.output.table) == (
        "delta",
        "main.gliner2.documents",
        "main.gliner2.extractions",
    )
    assert cfg.model.path == "models:/main.gliner2.gliner2_minilm_default@champion"
    assert (cfg.model.precision, cfg.model.backend) == ("int8", "auto")
    shipped = (
        cfg.model.precision,
        cfg.model.backend,
        cfg.model.distribution,
        cfg.options,
        cfg.arrow_records_per_batch,
        cfg.compiled_schema.schema_hash,
        cfg.output.mode,
    )
    assert shipped == (
        local.model.precision,
        local.model.backend,
        local.model.distribution,
        local.options,
        local.arrow_records_per_batch,
        local.compiled_schema.schema_hash,
        local.output.mode,
    )


@pytest.mark.parametrize(
    "job_key, notebooks",
    [
        ("gliner2_extract", ["01_extract.py", "03_explore_results.py"]),
        ("gliner2_register_model", ["02_register_model.py"]),
    ],
)
def test_tasks_wiring_and_notebooks(bundle, job_key, notebooks):
    root, _ = bundle
    f, job = jobs(bundle)[job_key]
    tasks = job["tasks"]
    keys = [t["task_key"] for t in tasks]
    clusters = {c["job_cluster_key"] for c in job["job_clusters"]}
    assert len(set(keys)) == len(keys)
    paths = []
    for t in tasks:
        assert {d["task_key"] for d in t.get("depends_on", [])} <= set(keys) - {t["task_key"]}
        assert t["job_cluster_key"] in clusters
        assert [lib["whl"] for lib in t["libraries"]] == ["../dist/*.whl"]  # the bundle's wheel artifact
        path = os.path.normpath(os.path.join(os.path.dirname(f), t["notebook_task"]["notebook_path"]))
        with open(path) as fh:
            assert fh.readline() == "# Databricks notebook source\n", path
        paths.append(os.path.basename(path))
    assert paths == notebooks
    params = {p["name"] for p in job["parameters"]}
    declared = {w for nb in notebooks for w in widgets(os.path.join(ROOT, "notebooks", nb))}
    assert params <= declared, params - declared
    for c in job["job_clusters"]:
        nc = c["new_cluster"]
        assert {"spark_version", "node_type_id", "num_workers"} <= set(nc)


def test_register_job_points_at_the_bundled_model(bundle):
    _, job = jobs(bundle)["gliner2_register_model"]
    assert "schedule" not in job  # run by hand or by a training pipeline
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert set(params) == set(widgets(os.path.join(ROOT, "notebooks", "02_register_model.py")))
    assert os.path.isfile(params["schema"].replace("${workspace.file_path}", ROOT))
    ckpt = params["checkpoint"].replace("${workspace.file_path}", ROOT)
    assert os.path.isfile(os.path.join(ckpt, "config.json")) and os.path.isfile(os.path.join(ckpt, "model.safetensors"))
