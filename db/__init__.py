"""The database layer shared by every Lambda: numbered SQL migrations and the asyncpg store."""
