"""Everything that talks to Last.fm, through the one client module."""
