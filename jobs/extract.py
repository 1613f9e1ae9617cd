"""Extract entities, classifications and structures from a document table with GLiNER2 on Spark.

    spark-submit jobs/extract.py --config conf/local.yaml [--set key=value ...]   (Delta is added if missing)
    python jobs/extract.py --config conf/local.yaml --set output.mode=overwrite --set batch_size=16

The configuration is validated (and the schema compiled) before Spark starts; a bad one exits with
status 2 and a message naming the field. Prints a summary: rows, documents per second, status
counts and the most frequent entities per type.
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    import gliner2_udf  # noqa: F401  (installed: pip install -e .)
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gliner2_udf.config import ConfigError, load_config
from gliner2_udf.registry import resolve_model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="GLiNER2 extraction over Parquet/Delta tables on Spark.")
    ap.add_argument("--config", required=True, help="YAML job configuration, e.g. conf/local.yaml")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration value, e.g. --set output.mode=overwrite (repeatable)",
    )
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        # models:/ URIs and hub ids (owner/name) are resolved once, in run(), also before Spark starts
        if not cfg.model.is_mlflow_uri and not cfg.model.is_hub_id:
            resolve_model(cfg.model)  # a missing checkpoint fails here, before pyspark is imported
        from gliner2_udf.spark import run
        from gliner2_udf.spark.session import needs_delta_relaunch, relaunch_with_delta

        if needs_delta_relaunch():  # a plain spark-submit without Delta: the same command, with Delta added
            relaunch_with_delta([os.path.abspath(__file__), *(sys.argv[1:] if argv is None else argv)])
        summary = run(cfg)  # loads the model and plans the schema before it starts Spark
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    print(summary.format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
