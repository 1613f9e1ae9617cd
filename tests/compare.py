"""Comparing two results of the upstream format: confidences within a tolerance, float ties allowed."""

import pytest


def same(ours, ref, tol=1e-5, where="result"):
    """``ours`` equals ``ref`` with confidences within ``tol``; a structure the reference leaves out when
    nothing was found is ``[]`` in ours (README: every requested key is present). A single-label answer may name
    another label when both confidences agree within ``tol``: random tiny checkpoints score their labels within
    1e-7 of each other, a float tie."""
    if isinstance(ref, dict) and {"label", "confidence"} <= set(ref) and ours.get("label") != ref["label"]:
        assert ours["confidence"] == pytest.approx(ref["confidence"], abs=tol), f"{where}: {ours} vs {ref}"
    elif isinstance(ref, dict):
        assert isinstance(ours, dict), where
        extra = {k for k in set(ours) - set(ref) if ours[k] == []}
        assert set(ours) - extra == set(ref), f"{where}: keys {sorted(ours)} vs {sorted(ref)}"
        for k in ref:
            same(ours[k], ref[k], tol, f"{where}.{k}")
    elif isinstance(ref, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(ref), f"{where}: {ours} vs {ref}"
        for i, (a, b) in enumerate(zip(ours, ref)):
            same(a, b, tol, f"{where}[{i}]")
    elif isinstance(ref, float):
        assert ours == pytest.approx(ref, abs=tol), where
    else:
        assert ours == ref, f"{where}: {ours!r} vs {ref!r}"


def label_ties(ours: dict, ref: dict) -> set:
    """The tasks of two ``classify_text`` answers with confidences whose labels differ (a float tie, see ``same``)."""
    return {k for k, v in ref.items() if isinstance(v, dict) and "label" in v and ours[k]["label"] != v["label"]}
