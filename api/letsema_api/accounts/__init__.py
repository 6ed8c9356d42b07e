"""Tenant users, their roles, lockout, OAuth2 clients and the permission rules."""
