"""Strip volatile metadata from executed notebooks (run after nbconvert --execute --inplace).

Removes the saved widget state and each cell's execution timestamps, so that the committed
notebooks differ only where their outputs, the regression baseline, do.
"""

import json
import sys
from pathlib import Path


def strip(path: Path) -> None:
    """Rewrite one notebook without its widget state and execution timestamps."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook.get("metadata", {}).pop("widgets", None)
    for cell in notebook.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        strip(Path(name))
