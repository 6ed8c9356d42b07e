"""PostgreSQL backend whose logins come from Vault's database engine (``ENGINE = "letsema_api.db"``)."""
