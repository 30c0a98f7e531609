"""A local emulator of the Yotta Elastic Deployment API (DESIGN §7). Imports no client code."""
