"""`python -m sandbox`: the same server as `manage.py sandbox`, without Django."""

import argparse
import sys

from . import cli

parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
cli.add_arguments(parser)
try:
    cli.serve(vars(parser.parse_args()), sys.stdout)
except (ValueError, OSError) as exc:  # not loopback, or the port is taken
    parser.exit(2, f"{exc}\n")
