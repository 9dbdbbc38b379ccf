"""The API Gateway Lambda authorizer: WebSocket ``$connect`` and the REST API.

``request`` finds the token in the event, ``tokens`` verifies it (PyJWT: HS256 with
a shared secret, RS256/ES256 from a JWKS URL), ``jwt_secret`` reads the HS256 secret
from Secrets Manager on AWS, and ``handler`` is the Lambda entry. The decisions and
the policy document live in the I/O-free :mod:`core.auth`.
"""
