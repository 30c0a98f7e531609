"""A local emulator of the Yotta Elastic Deployment API (docs/ARCHITECTURE.md §7). Imports no client code."""
