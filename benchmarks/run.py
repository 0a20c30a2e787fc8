"""The benchmark's one command: our backup and restore against `dump | gzip -1` and the stock clients.

.venv/bin/python benchmarks/run.py [--sizes 100,300] [--rounds 2] [--engines mariadb,postgresql]
                             [--parallel-restore 2] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_SIZE_MB = 300.0
QUICK_SIZE_MB = 20.0


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size-mb", type=float, default=DEFAULT_SIZE_MB, help="the larger dataset, MB of SQL"
    )
    parser.add_argument("--sizes", help="comma-separated dataset sizes in MB (default: 100 and --size-mb)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of ours and stock (≥ 2)")
    parser.add_argument("--engines", default="mariadb,postgresql", help="mariadb, postgresql or both")
    parser.add_argument(
        "--parallel-restore",
        type=int,
        default=2,
        metavar="N",
        help="also time our PostgreSQL restore over N connections "
        "(BACKUP_POSTGRES_RESTORE_CONNECTIONS); 0: not",
    )
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: one {QUICK_SIZE_MB:g} MB dataset")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:  # run as a script (`make bench`), not with -m
        sys.path.insert(0, str(root))
    from benchmarks.session import run_session

    arguments = _arguments(argv)
    if arguments.quick:
        sizes = [QUICK_SIZE_MB]
    elif arguments.sizes:
        sizes = [float(size) for size in arguments.sizes.split(",")]
    else:
        sizes = sorted({100.0, arguments.size_mb})
    run_session(
        sizes,
        max(2, arguments.rounds),
        arguments.engines.split(","),
        " ".join(["benchmarks/run.py", *argv]),
        parallel_restore=arguments.parallel_restore,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
