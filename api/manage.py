#!/usr/bin/env python
"""Django's command-line utility for a tenant API (configured from the environment: docs/api.md)."""

import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from letsema_api.startup import start

    start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
