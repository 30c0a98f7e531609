"""Guardrails: the project's policies (``project_schema.Policies``) checked against a plan, or
against the live fleet (drift). Pure, like the planner: no I/O, no clock; the caller passes
the plan, the manifests' views, the listed deployments, the state and the overrides.

Prices are the plan's: the live ``perHourPrice`` where a deployment exists and its
configuration is unchanged, the catalog's estimate otherwise (``source``: live | catalog |
unknown). A missing price is unknown, never $0: a budget rule then reports ``*-unknown``.
Modules: ``report`` (the typed result and its JSON), ``deployment`` (per-deployment rules),
``image`` (imagePolicy: Docker's reference grammar, the registry an image is pulled from),
``budget`` (the $/h rules), ``evaluate`` (a plan, or the live fleet for drift).
Report format (``format_version`` 1, ``schema/policy-report-v1.schema.json``) is
:meth:`PolicyReport.to_dict`.
"""

