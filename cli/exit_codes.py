"""The command line's exit codes (README, "Command line")."""

EXIT_OK = 0
EXIT_FAILED = 1
"""The operation failed (dump, restore, storage; a cleanup with failures)."""
EXIT_USAGE = 2
"""Bad input or configuration."""
EXIT_BUSY = 3
EXIT_NOT_FOUND = 4
EXIT_INTERRUPTED = 130
"""Ctrl-C or SIGTERM."""
EXIT_STDOUT_CLOSED = 141
"""128 + SIGPIPE: what a shell reports for a program a closed pipe stopped (`set -o pipefail` sees it)."""
