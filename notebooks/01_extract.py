# Databricks notebook source
# MAGIC %md
# MAGIC # 01 · Extract
# MAGIC Runs the GLiNER2 extract job with the same YAML configuration as `spark-submit jobs/extract.py`
# MAGIC (`config`: `conf/local.yaml` here, `conf/databricks.yaml` in the scheduled job), so precision, backend and
# MAGIC batch sizes are chosen once, in that file. A widget left empty keeps the file's value; `overrides` takes
# MAGIC `key.path=value` items like `--set` (one per line or separated by `;`). Everything is validated before
# MAGIC Spark reads a table.
# MAGIC
# MAGIC The model is a registered one by alias (`models:/<model_name>@<model_alias>`; a number picks a version) or a
# MAGIC Hugging Face hub id (`fastino/gliner2-base-v1`; the alias is then ignored). The version it resolves to is
# MAGIC written into every output row; each run is an MLflow run. With `mode = merge` a re-run only extracts
# MAGIC documents not yet in the output table.
# MAGIC
# MAGIC `gliner2_udf` comes from the bundle's wheel (job runs) or `%pip install` of that wheel (interactive).

# COMMAND ----------

import os

# The repository (bundle) root, found from this notebook's location: Databricks runs a notebook in its own
# folder and defines no __file__; run as a script, __file__ is this file. The configuration's relative paths
# are relative to it, as for `make run`.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd())
os.chdir(REPO)

dbutils.widgets.text("config", "conf/local.yaml", "Job configuration (YAML)")
dbutils.widgets.text("input_table", "", "Input table or path (empty: the config's)")
dbutils.widgets.text("schema", "", "Schema file (empty: the config's)")
dbutils.widgets.text("model_name", "", "Registered model or hub id (empty: the config's model.path)")
dbutils.widgets.text("model_alias", "champion", "Model alias or version")
dbutils.widgets.text("output_table", "", "Output table or path (empty: the config's)")
dbutils.widgets.text("mode", "", "Write mode: merge, append or overwrite (empty: the config's)")
dbutils.widgets.text("precision", "", "fp32, int8 or bf16 (empty: the config's)")
dbutils.widgets.text("backend", "", "torch, onnx or auto (empty: the config's)")
dbutils.widgets.text("limit", "", "Only the first N documents (empty: all)")
dbutils.widgets.text("overrides", "", "More settings, key.path=value (one per line or ;-separated)")

# COMMAND ----------

import json

from gliner2_udf.notebooks import extract_table, model_uri

name = dbutils.widgets.get("model_name").strip()
result = extract_table(
    spark,
    dbutils.widgets.get("config"),
    input_table=dbutils.widgets.get("input_table"),
    schema=dbutils.widgets.get("schema"),
    model=model_uri(name, dbutils.widgets.get("model_alias")) if name else None,
    output_table=dbutils.widgets.get("output_table"),
    mode=dbutils.widgets.get("mode"),
    precision=dbutils.widgets.get("precision"),
    backend=dbutils.widgets.get("backend"),
    limit=dbutils.widgets.get("limit"),
    overrides=dbutils.widgets.get("overrides"),
)
print(json.dumps(result, indent=1))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result))
