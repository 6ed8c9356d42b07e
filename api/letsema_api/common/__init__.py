"""What every app of the tenant API shares: the error format, input checks, request ids, audit."""
