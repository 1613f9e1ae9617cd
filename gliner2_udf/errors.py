"""The package's errors, in one hierarchy. Imports nothing.

``GLiNER2Error``
    ``FieldError`` (also a ``ValueError``): a value is malformed; ``path`` names the field and the message
    says what was expected (``output.mode: expected one of 'append', ... got 'upsert'``)
        ``SchemaError``: in a schema (``structures[0].fields[1].dtype``)
        ``ConfigError``: in a job configuration (``input.id_column``); jobs print it as one line, exit 2
            ``RegistryError``: a ``models:/`` URI that cannot be used (reported against ``model.path``)
            ``ExecutorModelError``: a model folder an executor cannot read (``model.path``)
    ``CheckpointError`` (also a ``ValueError``): a checkpoint folder that cannot be loaded as asked
    ``ModelUnavailableError`` (also a ``RuntimeError``): a Spark task that cannot load its model
"""

from __future__ import annotations


class GLiNER2Error(Exception):
    """Any error this package raises on purpose."""


class FieldError(GLiNER2Error, ValueError):
    """A malformed value; ``path`` names the field."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)

    @property
    def message(self) -> str:
        """The message without the field's path."""
        text = str(self)
        return text[len(self.path) + 2 :] if self.path and text.startswith(self.path + ": ") else text


class SchemaError(FieldError):
    """A schema is malformed; ``path`` names the offending field (e.g. ``structures[0].fields[1].dtype``)."""


class ConfigError(FieldError):
    """A configuration is malformed; ``path`` names the field (e.g. ``input.id_column``)."""

    @classmethod
    def of_schema(cls, err: SchemaError) -> ConfigError:
        """A schema error as a configuration error on the ``schema`` section."""
        return cls(f"schema.{err.path}" if err.path else "schema", err.message)


class RegistryError(ConfigError):
    """A ``models:/`` URI cannot be used: unknown name, alias or version, or a checkpoint that does not
    match the sha256 recorded at registration. Reported against ``model.path``."""

    def __init__(self, message: str):
        super().__init__("model.path", message)


class ExecutorModelError(ConfigError):
    """The model folder cannot be read on an executor; reported against ``model.path``."""

    def __init__(self, message: str):
        super().__init__("model.path", message)


class CheckpointError(GLiNER2Error, ValueError):
    """A checkpoint folder cannot be loaded as asked; the message says which file or tensor and why."""


class ModelUnavailableError(GLiNER2Error, RuntimeError):
    """The model cannot be loaded where a task runs (a path missing or unreadable on an executor).

    Raised in the worker with a message that names the path and the executor; the driver finds that
    message in the failed job and raises it once, as itself (``spark.job.run``)."""
