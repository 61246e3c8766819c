# SPDX-License-Identifier: Apache-2.0
"""python/kakeyalattice/_core.pyi lists exactly what the built _core module exports."""
import ast
import pathlib

import kakeyalattice as kl
from kakeyalattice import _core

STUB = pathlib.Path(__file__).resolve().parents[2] / "python" / "kakeyalattice" / "_core.pyi"


def _stub_names(body):
    names = set()
    for n in body:
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            names.add(n.target.id)
    return names


def test_stub_matches_the_module():
    tree = ast.parse(STUB.read_text())
    stub = _stub_names(tree.body)
    module = {n for n in dir(_core) if not n.startswith("_")} | {"__version__"}
    cuda_only = {n for n in stub if n.startswith("gpu_")}
    assert module - stub == set(), "exported by _core but missing from _core.pyi"
    expected_extra = set() if kl.WITH_CUDA else cuda_only
    assert stub - module == expected_extra, "in _core.pyi but not exported by _core"
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CodecCore")
    members = {n for n in dir(_core.CodecCore) if not n.startswith("_")}
    assert _stub_names(cls.body) - {"__init__"} == members
