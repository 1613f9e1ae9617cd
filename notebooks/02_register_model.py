# Databricks notebook source
# MAGIC %md
# MAGIC # 02 · Register a model
# MAGIC Logs a GLiNER2 checkpoint folder as an MLflow pyfunc model (the folder is an artifact; no pickled
# MAGIC weights), registers a new version with its encoder, max span width, checkpoint sha256 and evaluation
# MAGIC metrics (an `eval.json` in the folder, or the `metrics_file` widget), and points the alias at it.
# MAGIC On Unity Catalog, `model_name` is `catalog.schema.model`. `checkpoint` may be a Hugging Face hub id
# MAGIC (`fastino/gliner2-base-v1`): it is downloaded once and the version is tagged `hub_id` and `hub_commit`.

# COMMAND ----------

import os

# The repository (bundle) root, found from this notebook's location: Databricks runs a notebook in its
# own folder and defines no __file__; run as a script, __file__ is this file.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd())

dbutils.widgets.text("checkpoint", "models/gliner2-minilm-default", "Checkpoint folder or hub id (owner/name)")
dbutils.widgets.text("model_name", "gliner2-minilm-default", "Registered model")
dbutils.widgets.text("alias", "champion", "Alias to set (empty: none)")
dbutils.widgets.text("metrics_file", "", "Evaluation report (JSON, optional)")
dbutils.widgets.text(
    "schema", os.path.join(REPO, "conf", "schemas", "default.yaml"), "Default schema of the pyfunc model"
)

# COMMAND ----------

import json

from gliner2_udf.notebooks import register

registered = register(
    dbutils.widgets.get("checkpoint"),
    dbutils.widgets.get("model_name"),
    alias=dbutils.widgets.get("alias"),
    metrics_file=dbutils.widgets.get("metrics_file"),
    schema=dbutils.widgets.get("schema"),
)
print(json.dumps(registered, indent=1))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(registered))
