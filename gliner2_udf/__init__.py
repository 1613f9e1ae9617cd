"""GLiNER2 information extraction as a distributed big-data job.

``import gliner2_udf`` is cheap: the schema compiler and config validation load without torch; the
model (``GLiNER2``) and the Spark pieces are imported on first use.
"""

from .options import ExtractOptions
from .schema import CompiledSchema, RegexValidator, Schema, SchemaError, compile_schema, load_schema

__all__ = [
    "GLiNER2",
    "Schema",
    "SchemaError",
    "CompiledSchema",
    "RegexValidator",
    "ExtractOptions",
    "compile_schema",
    "load_schema",
]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "GLiNER2":
        from .engine import GLiNER2

        return GLiNER2
    raise AttributeError(name)
