"""A strict local ListenBrainz (API v1) over HTTPS, with rate limits and fault injection."""

from .core import ListenBrainz, recording_msid
from .server import RunningListenBrainz

__all__ = ["ListenBrainz", "RunningListenBrainz", "recording_msid"]
