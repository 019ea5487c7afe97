"""A benchmark's own PostgreSQL database, made afresh so every run starts alike."""

import sys
from urllib.parse import urlsplit


def recreate(database_url: str):
    """Drop and create the database `database_url` names; only one whose name says 'bench'."""
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to use database {name!r}: a benchmark database's name contains 'bench'")
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
