"""The I/O-free core shared by every Lambda and the local runtime.

It owns the ranking rules (`ranking`), the board model (`boards`), the ids (`ids`),
the wire protocol (`protocol`), configuration (`settings`) and the one error tree
(`errors`). Nothing in this package opens a socket, a file or a database connection.
"""
