#!/usr/bin/env python
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config import local_env

    path = local_env.env_file(Path(__file__).resolve().parent)
    if local_env.write_development_env(path):
        print(f"manage.py: wrote {path} for local development (DEBUG=1, a new SECRET_KEY; "
              "development defaults for the rest). Production: set the variables instead.", file=sys.stderr)
    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a setting missing in production: one line, not a traceback
        sys.exit(f"manage.py: {exc}")
