"""Use cases behind the commands: one function per thing a command does.

A command in ``reconciler/cli/`` parses its options, calls one function here (``plan.py``
loads manifests and builds plans for every command; the commands that change deployments share
``run.py``) and renders what comes back with ``reconciler/render/``. A command's API client and
state backend belong to one ``session.Session``, closed when it ends. Nothing here prints,
prompts or exits: functions return data or raise from the one exception tree in
``reconciler/errors.py``.
"""
