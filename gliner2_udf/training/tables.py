"""Vocabulary tables of the training-data builders, kept as data: ``data/<module>.yaml``.

Word lists, templates, label maps and topic/ticket/sentence inventories live in one YAML file per
module (``synthetic``, ``mix``, ``converters``, ``lexicon``); each module loads its file once, at
import. The files are package data (``setup.py``'s ``package_data``), read through
``importlib.resources``, so they are found in a source checkout and in an installed wheel alike.

Every YAML list is returned as a tuple (the tables were tuple literals and are not meant to be
changed); a module turns the few tables of another shape into it (sets, lists) where it loads them.

Example::

    >>> load("synthetic")["WEEKDAYS"][:2]
    ('Monday', 'Tuesday')
"""

from __future__ import annotations

from importlib import resources

import yaml

# libyaml's loader where PyYAML was built with it (5x faster at import); same safe constructors and
# resolvers as ``yaml.SafeLoader``, which tests/test_training_data.py checks on every file.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(name: str) -> dict:
    """The tables of ``data/<name>.yaml``: top-level key -> table, every list read as a tuple."""
    return _tuples(yaml.load(read(name), Loader=SAFE_LOADER))


def read(name: str) -> str:
    """The text of ``data/<name>.yaml``."""
    return (resources.files(__package__) / "data" / f"{name}.yaml").read_text(encoding="utf-8")


def _tuples(x):
    if isinstance(x, dict):
        return {k: _tuples(v) for k, v in x.items()}
    if isinstance(x, list):
        return tuple(_tuples(v) for v in x)
    return x
