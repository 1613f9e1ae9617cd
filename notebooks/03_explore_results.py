# Databricks notebook source
# MAGIC %md
# MAGIC # 03 · Explore results
# MAGIC What the extract job found: entity mentions per type, the most frequent entities, the label
# MAGIC distribution of each classification, a sample of structures, and the status of the documents; then what
# MAGIC the runs that wrote the table cost (from their MLflow records), per model version.

# COMMAND ----------

dbutils.widgets.text("output_table", "output/extractions", "Output table or path")
dbutils.widgets.text("model_version", "", "Only this model version (empty: all)")

# COMMAND ----------

import json

from gliner2_udf.notebooks import cost_history, explore

ex = explore(spark, dbutils.widgets.get("output_table"), model_version=dbutils.widgets.get("model_version"))
print(f"{ex.documents} documents")

# COMMAND ----------

# MAGIC %md ## Entities per type

# COMMAND ----------

display(ex.entity_counts)
display(ex.figures["entities"])
display(ex.top_entities)

# COMMAND ----------

# MAGIC %md ## Label distribution

# COMMAND ----------

display(ex.label_distribution)
if "labels" in ex.figures:
    display(ex.figures["labels"])

# COMMAND ----------

# MAGIC %md ## A look at structures, and the documents' status

# COMMAND ----------

display(ex.structures)
display(ex.status_counts)
display(ex.figures["status"])

# COMMAND ----------

# MAGIC %md ## What each run cost: CPU-seconds per 1,000 documents, documents/s per core, characters per document

# COMMAND ----------

costs = cost_history(dbutils.widgets.get("output_table"))
display(costs.runs)
display(costs.figure)

# COMMAND ----------

dbutils.notebook.exit(json.dumps({**ex.summary(), "runs": costs.runs["run_id"].tolist()}))
