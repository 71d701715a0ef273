"""The stand-in model server (tests/standin) in a process of its own, for the benchmarks.

    python bench/standin_serve.py --delay 0.1

Prints its OpenAI base URL on the first line of stdout, then answers every
request after `--delay` seconds until stdin is closed (the benchmark that
started it ends), so it never outlives its benchmark. Running it apart keeps
its CPU off the clients measured against it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.standin.server import Fault, StandinServer


def main() -> None:
    """Serve until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    args = parser.parse_args()
    server = StandinServer(args.host)
    server.state.default = Fault(delay=args.delay)
    # A benchmark sends tens of thousands of calls: the record of each call's
    # body, which tests read, would only grow here.
    server.state.calls = _Discard()
    with server:
        print(server.openai_base_url, flush=True)
        sys.stdin.read()


class _Discard(list):  # type: ignore[type-arg]
    """A list that keeps nothing: the server appends every call to it."""

    def append(self, item: object) -> None:
        """Drop the call."""


if __name__ == "__main__":
    main()
