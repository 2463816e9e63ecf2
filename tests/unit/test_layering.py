"""The core and the simulator never import Textual (the house rule: a thin UI over a Textual-free core)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "mjdash"


def test_core_and_sim_do_not_import_textual() -> None:
    offenders = []
    for folder in ("core", "sim"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("textual", "textual_image")]
    assert offenders == []
