"""The local runtime: the same handlers behind an API-Gateway-compatible front door,
over an embedded PostgreSQL primary and its streaming replica."""
