"""GLiNER2 extraction on Spark: ``extract(df, model, schema) -> DataFrame`` and the configured job ``run``.

``import gliner2_udf.spark`` is cheap; pyspark and torch load on first use of ``extract``, ``run`` or
``get_session``. ``rows`` (layout and row building) never imports either.

Example::

    from gliner2_udf import GLiNER2
    from gliner2_udf.spark import extract
    out = extract(spark.table("docs"), GLiNER2.from_pretrained("models/gliner2-minilm-default"),
                  "conf/schemas/default.yaml", id_column="doc_id", text_column="body")
"""

__all__ = ["extract", "run", "get_session", "latest"]


def __getattr__(name):
    if name in ("extract", "run"):
        from . import job

        return getattr(job, name)
    if name == "latest":  # one row per document: its latest extraction across schema versions
        from .io import latest

        return latest
    if name == "get_session":
        from .session import get_session

        return get_session
    raise AttributeError(name)
