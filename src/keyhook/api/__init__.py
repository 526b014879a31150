"""The HTTP API: the operation registry, the interceptor chain around each
operation, error mapping and OpenAPI. The only layer that knows HTTP exists on
the inbound side. May import everything below it."""
