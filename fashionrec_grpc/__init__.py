"""The gRPC edge every service shares: server wiring, interceptors, status mapping, proto conversion."""
