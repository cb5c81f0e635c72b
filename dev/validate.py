"""Moved: the kubeconform wrapper is tools/validate.py (``python -m tools.validate``).

Kept only while tests/charts/test_chart_render.py still imports ``validate`` from dev/ (its owner switches it to
``from tools.validate import validate``); delete this file, and dev/ with it, then.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.validate import main, validate

__all__ = ["main", "validate"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
