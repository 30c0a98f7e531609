"""Typed client for the Yotta Elastic Deployment API.

Import from the submodules (``reconciler.api.client``, ``reconciler.api.models``) so that pure
modules can use the models without importing httpx.
"""
