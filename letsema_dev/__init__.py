"""Local development platform for Letsema: service launchers and the ``letsema dev`` supervisor.

Nothing here is used in production. The same launchers start the isolated
services of the test suite (``tests/conftest.py``) and the persistent local
platform (``letsema dev up``).
"""
