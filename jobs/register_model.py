"""Register a GLiNER2 checkpoint folder as a new MLflow model version, optionally under an alias.

    python jobs/register_model.py --checkpoint models/gliner2-minilm-default --name gliner2-minilm-default \
        --alias champion
    python jobs/register_model.py --checkpoint fastino/gliner2-base-v1 [--revision REV] --name gliner2-base
    python jobs/register_model.py ... --if-absent     # only when NAME@ALIAS does not exist yet (make run)

A Hugging Face hub id is downloaded once into the hub cache (or found there with HF_HUB_OFFLINE set) and
registered like a folder; the version is tagged hub_id, hub_revision and hub_commit.
The store is $MLFLOW_TRACKING_URI, or sqlite:///<working directory>/mlflow.db. Prints the new version's URI;
exits 2 with a message for a missing checkpoint, schema or metrics file.
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    import gliner2_udf  # noqa: F401  (installed: pip install -e .)
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gliner2_udf.config import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this script is in <repository>/jobs
DEFAULT_SCHEMA = os.path.join(REPO, "conf", "schemas", "default.yaml")


def main(argv: list[str] | None = None) -> int:
    from gliner2_udf import registry

    ap = argparse.ArgumentParser(description="Log a GLiNER2 checkpoint to MLflow and register a version.")
    ap.add_argument(
        "--checkpoint",
        required=True,
        help="checkpoint folder (config.json, model.safetensors, ...) or Hugging Face hub id (owner/name)",
    )
    ap.add_argument("--revision", help="a hub id's branch, tag or commit (default: main)")
    ap.add_argument("--name", required=True, help="registered model name, e.g. gliner2-minilm-default")
    ap.add_argument("--alias", help="alias to point at the new version, e.g. champion")
    ap.add_argument(
        "--schema",
        default=DEFAULT_SCHEMA,
        help="default extraction schema of the pyfunc model (default: conf/schemas/default.yaml)",
    )
    ap.add_argument("--metrics", help="evaluation results (JSON); default: eval.json in the checkpoint, if any")
    ap.add_argument("--description", help="version description")
    ap.add_argument(
        "--if-absent",
        action="store_true",
        help="do nothing when NAME@ALIAS exists and records a file manifest (needs --alias)",
    )
    args = ap.parse_args(argv)
    from gliner2_udf.hub import is_hub_id

    try:
        for flag, path, isdir in (
            ("--checkpoint", None if is_hub_id(args.checkpoint) else args.checkpoint, True),
            ("--schema", args.schema, False),
            ("--metrics", args.metrics, False),
        ):
            if path is not None and not (os.path.isdir(path) if isdir else os.path.isfile(path)):
                raise ConfigError(flag, f"{path!r} does not exist")
        if args.if_absent and not args.alias:
            raise ConfigError("--if-absent", "needs --alias")
        kwargs = dict(
            schema=args.schema, metrics_file=args.metrics, description=args.description, revision=args.revision
        )
        if args.if_absent:
            existing = registry.alias_version(args.name, args.alias)
            if existing is not None and registry.has_manifest(args.name, existing):
                print(f"models:/{args.name}@{args.alias} -> models:/{args.name}/{existing} (already registered)")
                return 0
            if existing is not None:  # registered before file manifests: the job would refuse it
                print(f"models:/{args.name}/{existing} records no file manifest; registering the checkpoint again")
        reg = registry.register_checkpoint(args.checkpoint, args.name, args.alias, **kwargs)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    alias = f" (alias {reg.alias})" if reg.alias else ""
    print(f"registered {reg.uri}{alias} sha256={reg.sha256} run={reg.run_id} store={registry.configure()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
