"""yottactl: a declarative reconciler for Yotta Labs Elastic Deployments."""

__version__ = "0.1.0"
