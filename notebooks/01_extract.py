# Databricks notebook source
# MAGIC %md
# MAGIC # 01 · Extract
# MAGIC Runs the GLiNER2 extract job over a document table with a registered model, by alias
# MAGIC (`models:/<model_name>@<model_alias>`; a number picks a version). The version the alias points at is
# MAGIC written into every output row as `models:/NAME/VERSION`; each run is an MLflow run.
# MAGIC With `mode = merge` a re-run only extracts documents not yet in the output table.
# MAGIC `model_name` may instead be a Hugging Face hub id (`fastino/gliner2-base-v1`; the alias is then ignored):
# MAGIC the driver downloads it once into the hub cache and rows record `owner/name@<commit>`.
# MAGIC
# MAGIC `gliner2_udf` comes from the bundle's wheel (job runs) or `%pip install` of that wheel (interactive).

# COMMAND ----------

dbutils.widgets.text("input_table", "data/samples/documents.parquet", "Input table or path")
dbutils.widgets.text("schema", "conf/schemas/default.yaml", "Schema file")
dbutils.widgets.text("model_name", "gliner2-minilm-default", "Registered model or hub id (owner/name)")
dbutils.widgets.text("model_alias", "champion", "Model alias or version")
dbutils.widgets.text("output_table", "output/extractions", "Output table or path")
dbutils.widgets.dropdown("mode", "merge", ["merge", "append", "overwrite"], "Write mode")
dbutils.widgets.text("limit", "", "Only the first N documents (empty: all)")

# COMMAND ----------

import json

from gliner2_udf.notebooks import extract_table, model_uri

result = extract_table(
    spark,
    input_table=dbutils.widgets.get("input_table"),
    schema=dbutils.widgets.get("schema"),
    model=model_uri(dbutils.widgets.get("model_name"), dbutils.widgets.get("model_alias")),
    output_table=dbutils.widgets.get("output_table"),
    mode=dbutils.widgets.get("mode"),
    limit=dbutils.widgets.get("limit"),
)
print(json.dumps(result, indent=1))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result))
