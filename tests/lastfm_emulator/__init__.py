"""A local HTTPS Last.fm (web services 2.0) that the unmodified pylast talks to, with fault injection."""

from .core import Emulator, signature
from .server import RunningEmulator, wsgi_app

__all__ = ["Emulator", "RunningEmulator", "signature", "wsgi_app"]
