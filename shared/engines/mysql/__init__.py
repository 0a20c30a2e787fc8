"""MySQL/MariaDB dump and restore engine, in pure Python over PyMySQL (streamed both ways)."""

from shared.engines.mysql.engine import MySQLEngine

__all__ = ["MySQLEngine"]
