"""The ops command line: `python main.py <command>`, one module per command under `cli/commands/`."""
