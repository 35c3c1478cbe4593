"""ListenBrainz: the saved user token, the shared rate limit, and the one module that talks to the service."""
