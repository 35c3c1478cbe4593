"""The record collection: album models, tracklists, the static JSON store and album lookup."""
