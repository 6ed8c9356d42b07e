"""Helpers for the Letsema Locust suites: tenants, OAuth tokens, signing keys and shared pools."""
