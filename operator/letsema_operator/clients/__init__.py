"""Small clients for the outside world (Kubernetes, Vault/OpenBao, MongoDB), built at startup, never at import."""
