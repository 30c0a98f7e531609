"""Manifests: format (schema), loading with positions (loader), ${env:...} interpolation."""
