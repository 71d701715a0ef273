"""Write .env.example from benchq's Settings model (`--check`: fail if it is stale).

.venv/bin/python scripts/gen_env_example.py          # rewrite .env.example
.venv/bin/python scripts/gen_env_example.py --check  # exit 1 if out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchq.ops.env_example import render_env_example, write_env_example

TARGET = Path(__file__).resolve().parent.parent / ".env.example"


def main(argv: list[str]) -> int:
    """Rewrite or check the file; returns the exit code."""
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != render_env_example():
            print(f"{TARGET} is out of date: run scripts/gen_env_example.py", file=sys.stderr)
            return 1
        return 0
    changed = write_env_example(TARGET)
    print(f"{TARGET}: {'written' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
