"""Write .env.example and env/*.env.example from benchq's Settings (`--check`: fail if stale).

.venv/bin/python scripts/gen_env_example.py          # rewrite the examples
.venv/bin/python scripts/gen_env_example.py --check  # exit 1 if any is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchq.ops.env_example import stale_examples, write_examples

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    """Rewrite or check the files; returns the exit code."""
    if "--check" in argv:
        stale = stale_examples(ROOT)
        for rel in stale:
            print(f"{rel} is out of date: run scripts/gen_env_example.py", file=sys.stderr)
        return 1 if stale else 0
    written = write_examples(ROOT)
    print(f"written: {', '.join(written)}" if written else "every example unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
