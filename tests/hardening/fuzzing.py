"""Strategies and targets shared by the property tests (tests/hardening/test_fuzz_parsers.py)
and the timed campaign (bench/fuzz.py).

Inputs are of two kinds: any JSON value, and recorded fixtures mutated structurally (a subtree
replaced by any JSON value, a key removed, a string cut or stuffed with control characters) —
random JSON alone rarely reaches the deeper branches of a provider's format.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40) | st.sampled_from(["", "0", "-1", "1e309", "\x00", "ờ" * 3,
                                                    "2100-01-01T00:00:00Z", "http://127.0.0.1/x"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                           max_leaves=25)


def fixtures(channel: str) -> list[Any]:
    out = []
    for path in sorted((FIXTURES / channel).glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            continue
    return out


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _set(root: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    node = root
    for step in path[:-1]:
        node = node[step]
    if delete and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return root


@st.composite
def mutated(draw: st.DrawFn, samples: list[Any], max_mutations: int = 4) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "delete", "string", "number"]))
        if how == "replace":
            doc = _set(doc, path, draw(json_values))
        elif how == "delete" and path:
            doc = _set(doc, path, None, delete=True)
        elif how == "string":
            doc = _set(doc, path, draw(st.text(max_size=30)))
        else:
            doc = _set(doc, path, draw(st.integers(-2**64, 2**64) | st.floats(allow_nan=False)))
    return doc


def channel_inputs(channel: str) -> st.SearchStrategy[Any]:
    samples = fixtures(channel)
    return (mutated(samples) if samples else st.nothing()) | json_values
