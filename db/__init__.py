"""The database layer shared by every Lambda: SQL schema and functions, and the asyncpg store."""
