"""Root of the test suite: the real-service fixtures come from letsema_dev.testing."""

pytest_plugins = ["letsema_dev.testing"]
