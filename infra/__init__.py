"""The AWS CDK app that deploys the leaderboard service.

``app.py`` only creates stacks; ``stack.py`` wires the components together and
grants; each component (network, database, compute, api, observability,
pipeline) is a construct in its own module that takes keyword-only arguments
and exposes its resources as attributes. ``config.py`` turns CDK context into
one typed, frozen object, and ``bundling.py`` builds the Lambda asset without
Docker.
"""
