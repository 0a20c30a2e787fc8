"""Entry points: the ops command line (`python main.py <command>`) and, later, the Cloud Functions targets."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from cli.main import main

    sys.exit(main())
