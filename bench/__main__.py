"""``python -m bench``: run every benchmark and print its figures."""

from __future__ import annotations

import sys

from bench import providers

BENCHMARKS = {"providers": providers.main}


def main() -> int:
    wanted = sys.argv[1:] or list(BENCHMARKS)
    code = 0
    for name in wanted:
        code = max(code, BENCHMARKS[name]())
    return code


if __name__ == "__main__":
    sys.exit(main())
