#!/usr/bin/env bash
# Prints the path of a Python 3.12 or newer (the Cloud Functions runtime is python312), or explains and fails.
set -u
candidates=(python3.12 python3.13 python3.14 python3)
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin; do
  [ -x "$dir/python3" ] && candidates+=("$dir/python3")
done
for candidate in "${candidates[@]}"; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "No Python 3.12 or newer found. Install one (e.g. 'apt-get install python3.12' or 'pyenv install 3.12'), or run make PYTHON=/path/to/python3.12" >&2
exit 1
