"""The WebSocket route Lambdas: $connect, $disconnect, submit, subscribe, unsubscribe, $default.

``events`` types the API Gateway event, ``routes`` holds the route logic (async, over
injected services), ``sender`` is the send-to-connection port and its @connections
adapter, and ``handler`` is the Lambda entry module, one function per route.
"""
