"""`python -m collector.operator`: the same as `python -m collector operator`."""

import sys

from collector.operator.cli import run

sys.exit(run())
