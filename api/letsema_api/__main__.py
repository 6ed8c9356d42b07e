"""``python -m letsema_api <command>``: Django's management commands for a tenant, like ``manage.py``.

Unlike ``python -m django``, it reports a start-up failure (missing variable, Vault unreachable) in
one line and exits with status 2.
"""

import sys

from letsema_api.startup import start


def main() -> None:
    start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
