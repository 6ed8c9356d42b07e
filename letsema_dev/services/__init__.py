"""Launchers for the real services Letsema runs on locally and in tests."""
