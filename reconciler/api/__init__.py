"""Typed client for the Yotta Elastic Deployment API."""

from reconciler.api.client import YottaClient, resolve_endpoint
from reconciler.api.retry import RetryPolicy

__all__ = ["RetryPolicy", "YottaClient", "resolve_endpoint"]
