"""Models named by their Hugging Face hub id (``fastino/gliner2-base-v1``), resolved through the hub's cache.

``resolve`` turns a hub id into the local snapshot folder ``huggingface_hub`` keeps
(``<HF_HUB_CACHE>/models--owner--name/snapshots/<commit>``), downloading only the files a checkpoint needs
(safetensors weights, JSON configs, tokenizer files; never a pickled ``.bin``). With ``HF_HUB_OFFLINE`` set
nothing is fetched: a model or revision that is not cached fails at once, in one line. Everything after
``resolve`` treats the snapshot as a local checkpoint folder.

Imports neither torch, pyspark nor mlflow; ``huggingface_hub`` is imported when a hub id is resolved.

Example::

    folder, ref = resolve("fastino/gliner2-base-v1")
    ref.commit, ref.model_version    # '3f1c...', 'fastino/gliner2-base-v1@3f1c...'
    resolve("models/gliner2-minilm-default")    # an existing local folder: ('models/...', None)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import CheckpointError, ModelUnavailableError

DEFAULT_REVISION = "main"  # the hub's default branch
# what a GLiNER2 checkpoint needs from a repository, in any folder (fnmatch's ``*`` crosses ``/``): weights,
# configs and tokenizer files (vocab.txt, merges.txt, spm.model); a pickled pytorch_model.bin is never fetched
ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.txt", "*.model"]
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SNAPSHOT = re.compile(r"(?:^|/)models--(?P<owner>[^/]+?)--(?P<name>[^/]+)/snapshots/(?P<commit>[0-9a-f]{40})$")


@dataclass(frozen=True)
class HubRef:
    """Which hub model a folder is: the id, the revision asked for (a branch, tag or commit) and the commit."""

    repo_id: str
    revision: str
    commit: str

    @property
    def model_version(self) -> str:
        """``owner/name@<commit>``: the default version label of a hub model (pass the commit back as
        ``revision`` to load the same files again)."""
        return f"{self.repo_id}@{self.commit}"


def is_hub_id(value) -> bool:
    """True for an ``owner/name`` string that is not an existing local path, URI or absolute/relative path
    spelled with ``./``: ``fastino/gliner2-base-v1`` is one; ``models:/x/1``, ``/abs/dir``, ``a/b/c`` are not."""
    if not isinstance(value, str) or not _REPO_ID.match(value) or ".." in value or "--" in value:
        return False
    return not os.path.exists(value)


def cache_folder() -> str:
    """The hub cache folder in use: ``$HF_HUB_CACHE`` as set now, else ``huggingface_hub``'s default."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE


def offline() -> bool:
    """``HF_HUB_OFFLINE``, from ``huggingface_hub``'s constants or the environment as set now."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return bool(constants.HF_HUB_OFFLINE) or env in ("1", "ON", "YES", "TRUE")


def snapshot_ref(folder: str, revision: str | None = None) -> HubRef | None:
    """The ``HubRef`` of a folder inside the hub cache (``.../models--owner--name/snapshots/<commit>``);
    ``None`` for any other folder."""
    m = _SNAPSHOT.search(os.path.normpath(os.path.abspath(folder)).replace(os.sep, "/"))
    if m is None:
        return None
    return HubRef(f"{m['owner']}/{m['name']}", revision or DEFAULT_REVISION, m["commit"])


def resolve(path_or_id: str, revision: str | None = None) -> tuple[str, HubRef | None]:
    """``(local folder, HubRef)`` for a hub id (downloaded once into the hub cache, or found there offline);
    ``(path_or_id, None)`` for anything else, unchanged.

    Raises :class:`ModelUnavailableError` (one line naming the id, the revision and the cache folder) when the
    model cannot be had: offline and not cached, or the hub refusing it (unknown id, revision, gated); a
    :class:`CheckpointError` for a ``revision`` given with anything but a hub id.
    """
    if not is_hub_id(path_or_id):
        if revision is not None:
            raise CheckpointError(
                f"revision {revision!r} applies only to a Hugging Face hub id (owner/name), got {path_or_id!r}"
            )
        return path_or_id, None
    from huggingface_hub import snapshot_download

    rev = revision or DEFAULT_REVISION
    cache, is_offline = cache_folder(), offline()
    try:
        folder = snapshot_download(
            path_or_id,
            revision=rev,
            cache_dir=cache,
            local_files_only=is_offline,
            allow_patterns=ALLOW_PATTERNS,
        )
    except Exception as err:  # huggingface_hub's errors (not found, offline, gated, network): one line
        raise ModelUnavailableError(_explain(path_or_id, rev, cache, is_offline, err)) from None
    return folder, HubRef(path_or_id, rev, os.path.basename(os.path.normpath(folder)))


def _explain(repo_id: str, revision: str, cache: str, is_offline: bool, err: Exception) -> str:
    from huggingface_hub.errors import LocalEntryNotFoundError

    where = f"Hugging Face model {repo_id!r} at revision {revision!r}"
    reason = " ".join(str(err).split()) or type(err).__name__
    reason = f"{type(err).__name__}: {reason if len(reason) <= 300 else reason[:297] + '...'}"
    if is_offline:
        why = "" if isinstance(err, LocalEntryNotFoundError) else f" ({reason})"
        return (
            f"{where} is not in the hub cache {cache}{why} and HF_HUB_OFFLINE is set; download it once with "
            f"network access (or point HF_HUB_CACHE at a cache that has it); no local folder {repo_id!r} exists either"
        )
    return f"{where} cannot be downloaded into the hub cache {cache}: {reason}"
