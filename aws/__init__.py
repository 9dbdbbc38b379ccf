"""The AWS adapters of the ports in :mod:`core.ports`, and the Lambda container.

- :mod:`aws.secrets`: the one Secrets Manager reader (:class:`~core.ports.SecretReader`);
- :mod:`aws.connections`: the one ``@connections`` client, SigV4 with retries
  (:class:`~core.ports.Sender`), used by every function that posts to a connection;
- :mod:`aws.invoke`: Lambda ``Invoke`` as the broadcaster's :class:`~core.ports.Waker`;
- :mod:`aws.rds_auth`: IAM authentication tokens for RDS Proxy, one per new connection;
- :mod:`aws.lambdas`: one event loop per Lambda container and the services built on it.

Nothing here knows the database; :func:`db.services.open_services` builds these adapters
when a handler runs on AWS. Importing a module of this package imports neither boto3 nor
botocore until an adapter is built.
"""
