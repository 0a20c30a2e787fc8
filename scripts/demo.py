"""`make demo`: back up, damage, and restore a throwaway PostgreSQL database — no server or cloud needed.

It starts PostgreSQL from the `pgserver` wheel in ./demo-home, loads a small shop, and drives the real
command line (`python main.py ...`) against it, printing each command as it goes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "demo-home"
SAMPLE = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    total numeric(10,2) NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name, email)
    SELECT 'Customer ' || n, 'customer' || n || '@example.com' FROM generate_series(1, 500) AS n;
INSERT INTO orders (customer_id, total)
    SELECT 1 + (n % 500), round((random() * 200)::numeric, 2) FROM generate_series(1, 5000) AS n;
CREATE VIEW order_totals AS
    SELECT c.name, count(o.id) AS orders, sum(o.total) AS spent
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.name;
"""
COUNTS = (
    "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), "
    "(SELECT name FROM customers WHERE id = 1)"
)


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run_cli(env: dict[str, str], *args: str) -> dict[str, object]:
    print(f"$ python main.py {' '.join(args)}", flush=True)
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args, "--json"], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"demo: `python main.py {' '.join(args)}` failed with exit code {done.returncode}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> int:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(HOME / "run"))
    import pgserver
    import psycopg

    shutil.rmtree(HOME, ignore_errors=True)
    (HOME / "pg").mkdir(parents=True)
    (HOME / "run").mkdir(mode=0o700)
    say("Starting a throwaway PostgreSQL (from the pgserver wheel)")
    server = pgserver.get_server(HOME / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
    socket_dir = HOME / "pg"
    try:
        admin = psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True)
        admin.execute("CREATE DATABASE shop")
        admin.close()
        shop = psycopg.connect(host=str(socket_dir), user="postgres", dbname="shop", autocommit=True)
        shop.execute(SAMPLE)

        def counts() -> str:
            row = shop.execute(COUNTS).fetchone()
            assert row is not None
            return f"customers={row[0]}, orders={row[1]}, first customer's name={row[2]!r}"

        print(f"Loaded sample data: {counts()}")
        env = dict(os.environ)
        env.update(
            BACKUP_DATABASE_URL=f"postgresql://postgres@/shop?host={socket_dir}",
            BACKUP_HOME=str(HOME / "backups"),
        )
        say("Taking a backup")
        backup = run_cli(env, "create")
        print(
            f"backup {backup['id']}: {backup['status']}, {backup['file_size']} bytes, "
            f"sha256 {backup['sha256']}"
        )
        say("Listing backups")
        listing = run_cli(env, "list")
        for item in listing["backups"]:  # type: ignore[attr-defined]
            print(f"  {item['id']}  {item['created_at']}  {item['status']}  {item['filename']}")
        say("Damaging the data")
        shop.execute("DELETE FROM orders WHERE id % 2 = 0; UPDATE customers SET name = 'oops'")
        print(f"After the accident: {counts()}")
        say("Restoring the backup (a pre-restore backup is taken first)")
        restored = run_cli(env, "restore", str(backup["id"]), "--force")
        pre = restored["pre_restore_backup"]
        print(f"restored; the damaged state is kept as backup {pre['id']}")  # type: ignore[index]
        shop.close()
        shop = psycopg.connect(host=str(socket_dir), user="postgres", dbname="shop", autocommit=True)
        print(f"After the restore: {counts()}")
        shop.close()
        say("Do the same with your own database")
        print(
            "  export BACKUP_DATABASE_URL='mysql://USER:PASSWORD@HOST:3306/DATABASE'   # or postgresql://...\n"
            "  export BACKUP_HOME=./.backups\n"
            "  python main.py create && python main.py list\n"
            "See README.md for every command and setting."
        )
    finally:
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
