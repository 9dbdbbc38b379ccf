"""The REST snapshot API: boards, pages, standings and admin, read from the replica.

Modules: ``models`` (the wire models), ``events`` (the typed REST proxy v1 event),
``cursor`` (opaque HMAC-signed page cursors), ``snapshots`` (ETag and conditional
requests), ``reads`` (replica reads with failover to the primary), ``api`` (the router
and the route functions), ``openapi`` (the generated OpenAPI 3.1 document),
``handler`` (the Lambda entry) and ``local`` (the local runtime's API Gateway emulation).

Auth policy: every ``/v1`` route sits behind the REST REQUEST authorizer
(``Authorization: Bearer <jwt>``); reads take any role (player, server, spectator,
admin), board management takes ``admin``. There is no anonymous read access: a REST
API method on API Gateway either has the authorizer or not, so a per-board "public"
switch would need a second, unauthenticated resource tree and a token check inside
the Lambda, which would duplicate the authorizer. A scoreboard display uses a
long-lived ``spectator`` token instead. ``GET /openapi.json`` is public.
"""
