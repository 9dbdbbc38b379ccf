"""The broadcaster: change events in, exact view updates out to every subscriber.

``worker`` runs rounds per board (read committed events from the cursor, compute each
subscriber's new view, send, then advance the cursor with the bookkeeping); ``fanout``
is the concurrent @connections adapter; ``handler`` is the Lambda entry.
"""
