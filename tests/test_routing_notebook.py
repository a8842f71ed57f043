"""The routing playground notebook is valid nbformat 4 JSON and its code cells run in order."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "routing_playground.ipynb"


class TestNotebook:
    def test_shape(self) -> None:
        """The notebook has the nbformat 4 keys and every cell an id and a source."""
        nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
        assert (4, True) == (nb["nbformat"], nb["nbformat_minor"] >= 5)
        for cell in nb["cells"]:
            assert {"cell_type", "id", "metadata", "source"} <= set(cell)
            if cell["cell_type"] == "code":
                assert ([], None) == (cell["outputs"], cell["execution_count"])

    def test_cells_run(self) -> None:
        """Every code cell runs; the displayed results render as HTML."""
        nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
        namespace: dict[str, Any] = {"__name__": "routing_playground"}
        shown = []
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            tree = ast.parse("".join(cell["source"]))
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, f"cell {i}", "exec"), namespace)
            if last is not None:
                shown.append(eval(compile(ast.Expression(last.value), f"cell {i}", "eval"), namespace))
        html = [v._repr_html_() for v in shown if hasattr(v, "_repr_html_")]
        assert 3 == len(html)
        assert all("<table>" in h for h in html)
