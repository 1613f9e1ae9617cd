"""The MLflow ``pyfunc`` face of a GLiNER2 checkpoint: ``text`` in, one JSON extraction per text out.

``registry.log_checkpoint`` logs this class with the checkpoint folder as an artifact, so the pickled
``python_model.pkl`` holds only the class reference (no weights); ``load_context`` loads the folder.
Imports mlflow: only the registry and MLflow's loaders import this module.

Example::

    model = mlflow.pyfunc.load_model("models:/gliner2-minilm-default@champion")
    model.predict(pd.DataFrame({"text": ["Tim Cook runs Apple."]}), params={"threshold": 0.4})
    # -> DataFrame with one column "extraction": the engine result as JSON (spans and confidences)
"""

from __future__ import annotations

import json

import mlflow.pyfunc
import pandas as pd

from .options import ExtractOptions

OUTPUT_COLUMN = "extraction"
DEFAULT_PARAMS = {"threshold": ExtractOptions.threshold, "batch_size": ExtractOptions.batch_size, "schema": ""}


def signature():
    """``text: string`` -> ``extraction: string`` (JSON), with params threshold, batch_size, schema (JSON)."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", "text")]),
        outputs=Schema([ColSpec("string", OUTPUT_COLUMN)]),
        params=ParamSchema(
            [
                ParamSpec("threshold", "double", DEFAULT_PARAMS["threshold"]),
                ParamSpec("batch_size", "long", DEFAULT_PARAMS["batch_size"]),
                ParamSpec("schema", "string", DEFAULT_PARAMS["schema"]),
            ]
        ),
    )


def verify_logged(checkpoint: str, schema: str, config: dict) -> None:
    """Refuse a checkpoint or schema artifact that differs from the hashes recorded when it was registered (the
    model's ``model_config``; ``registry.resolve`` checks the registry's own tags instead)."""
    from .errors import RegistryError
    from .registry import MANIFEST_TAG, SCHEMA_TAG, artifact_problems

    if not config.get(MANIFEST_TAG) or not config.get(SCHEMA_TAG):
        raise RegistryError(
            f"this logged model records no file manifest ({MANIFEST_TAG}, {SCHEMA_TAG} in its model_config); "
            "register the checkpoint again with jobs/register_model.py"
        )
    problems = artifact_problems(checkpoint, schema, json.loads(config[MANIFEST_TAG]), config[SCHEMA_TAG])
    if problems:
        raise RegistryError(f"the logged model does not match what was registered: {'; '.join(problems)}; refusing")


class GLiNER2PyFunc(mlflow.pyfunc.PythonModel):
    """Loads ``artifacts["checkpoint"]`` and extracts with ``artifacts["schema"]`` unless a call passes
    ``params={"schema": "<JSON schema>"}``."""

    # MLflow validates inputs against the logged signature; no type-hint based validation (and no
    # warning asking for type hints) is wanted on top.
    _skip_type_hint_validation = True

    def load_context(self, context) -> None:
        from .engine import GLiNER2
        from .schema import load_schema

        config = context.model_config or {}
        verify_logged(context.artifacts["checkpoint"], context.artifacts["schema"], config)
        self.model = GLiNER2.from_pretrained(context.artifacts["checkpoint"], model_version=config.get("model_version"))
        self.schema = load_schema(context.artifacts["schema"])

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        from .schema import compile_schema

        p = {**DEFAULT_PARAMS, **(params or {})}
        schema = compile_schema(json.loads(p["schema"])) if p["schema"] else self.schema
        if isinstance(model_input, pd.DataFrame):
            texts = model_input["text"] if "text" in model_input else model_input.iloc[:, 0]
        else:
            texts = pd.Series(model_input)
        texts = [t if isinstance(t, str) else None for t in texts.tolist()]
        results = self.model.batch_extract(
            texts,
            schema,
            batch_size=int(p["batch_size"]),
            threshold=float(p["threshold"]),
            include_confidence=True,
            include_spans=True,
        )
        return pd.DataFrame({OUTPUT_COLUMN: [json.dumps(r, ensure_ascii=False) for r in results]})
