"""The project file ``yottactl.yaml``: manifest folders, endpoint, state, defaults, variables and
named environments that override them. Pure apart from reading the file itself.

    manifests: [deploy/base]               # str or list; relative to this file
    endpoint: https://api.yottalabs.ai
    state: state/yottactl.state.json       # path or PostgreSQL URL
    defaults: {parallelism: 10, timeout: 900, lockTimeout: 0, rollout: recreate}
    variables: {workers: 1}
    environments:
      prod: {endpoint: ..., state: ..., variables: {...}, overlays: [...], manifests: [...],
             rollout: blueGreen, policies: {...}}
    policies: {maxHourlyCost: {max: 40}, imagePolicy: {forbidTags: [latest]}, ...}

An environment's ``policies`` extend the global ones by rule name: a rule it names replaces the
global rule of that name (``level: off`` turns it off there); the others still apply.

:func:`resolve` turns the file plus ``--env`` into a :class:`Context` (what one command run
uses). An environment's ``state`` defaults to ``state/<NAME>.state.json`` beside the file, never
to the global one, so a prod apply cannot touch staging's inventory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from reconciler.catalog import Catalog, builtin_catalog
from reconciler.errors import ManifestIssue, ProjectFileError, UsageError
from reconciler.project_schema import Agent, Defaults, Loc, Policies, ProjectFile, describe, dotted

PROJECT_FILE = "yottactl.yaml"
@dataclass(frozen=True)
class Project:
    """A validated project file and where it is (relative paths resolve against ``root``)."""

    path: Path
    config: ProjectFile

    @property
    def root(self) -> Path:
        return self.path.parent

    def place(self, value: str) -> str:
        """A path from the file, as the user's shell would name it; URLs unchanged."""
        if "://" in value:
            return value
        return _shown(Path(os.path.normpath(self.root / value)))


@dataclass(frozen=True)
class Context:
    """What one command run uses from the project file (``project is None``: there is none)."""

    project: Project | None = None
    environment: str | None = None
    manifests: tuple[str, ...] = ()
    endpoint: str | None = None
    state: str | None = None
    overlays: tuple[str, ...] = ()
    defaults: Defaults = field(default_factory=Defaults.model_construct)
    rollout: str | None = None  # lifecycle.rollout for manifests without one (None: recreate)
    api_version: str | None = None  # the file's `api` (the environment's, else the global one)
    # the guardrails of this run: the global policies, extended by the environment's by name
    # (defaults built without validation: validating the first instance builds the model's
    # validator, 16 ms of start-up for Policies, and a run without a project file needs none)
    policies: Policies = field(default_factory=Policies.model_construct)
    # `yottactl agent`: the environment's over the global
    agent: Agent = field(default_factory=Agent.model_construct)

    def variable_sources(self) -> list[tuple[dict[str, object], str]]:
        """The project file's variables, lowest precedence first: global `variables`, global
        `varFiles` in order, then the environment's `variables` and `varFiles`."""
        if self.project is None:
            return []
        config, path = self.project.config, self.project.path
        out = [(dict(config.variables), f"{path} (variables)"), *self._files(config.varFiles)]
        if self.environment:
            env = config.environments[self.environment]
            out.append((dict(env.variables), f"{path} (environments.{self.environment}.variables)"))
            out += self._files(env.varFiles, f"environments.{self.environment}.varFiles")
        return out

    def _files(self, names: tuple[str, ...], where: str = "varFiles"
               ) -> list[tuple[dict[str, object], str]]:
        from reconciler.manifest.variables import read_var_file

        assert self.project is not None
        out: list[tuple[dict[str, object], str]] = []
        for name in names:
            place = self.project.place(name)
            out.append(({k: v.value for k, v in read_var_file(place, where).items()}, place))
        return out


@dataclass(frozen=True)
class Inputs:
    """Everything besides paths that shapes the manifests a command reads: the project context,
    the command line's ``--var NAME=VALUE`` / ``--var-file FILE`` in the order given, and the
    command's catalog (GPU types and regions they may name, --allow-unknown-gpu)."""

    context: Context = field(default_factory=Context)
    cli_vars: tuple[tuple[str, str], ...] = ()  # ("--var", "N=V") / ("--var-file", "FILE")
    catalog: Catalog = field(default_factory=builtin_catalog)


def find(start: Path | None = None) -> Path | None:
    """``yottactl.yaml`` in ``start`` (default: the working directory) or the nearest parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load(path: Path, catalog: Catalog | None = None) -> Project:
    """Read and validate a project file; raises :class:`ProjectFileError` with positions.
    ``catalog``: the command's (policies name GPU types and regions)."""
    from reconciler import fastyaml
    from reconciler.fastyaml import yaml_issue
    from reconciler.manifest.positions import Locator

    name = _shown(path)
    from reconciler import localfile

    try:
        text = localfile.read_text(path, localfile.MANIFEST_CAP)
    except localfile.UnreadableFile as exc:
        raise UsageError(f"cannot read project file {name}: {exc.reason}",
                         hint="check --project FILE and its permissions") from exc
    try:
        documents = fastyaml.load_all(text)
    except fastyaml.YamlStructureError as exc:
        raise ProjectFileError([ManifestIssue(name, exc.line, exc.column, "", str(exc), exc.hint)]) from None
    except Exception as exc:  # ruamel's syntax errors, translated at the boundary
        raise ProjectFileError([yaml_issue(name, text, exc)]) from None
    data = documents[0] if documents else None
    if data is None:
        data = {}
    if not isinstance(data, dict) or len([d for d in documents if d is not None]) > 1:
        raise ProjectFileError([ManifestIssue(name, 1, 1, "", "a project file is one YAML mapping",
                                              "see `yottactl schema --project` for its keys")])
    try:
        config = ProjectFile.model_validate(data, context={"catalog": catalog or builtin_catalog()})
    except ValidationError as exc:
        locator = Locator(name, text)
        issues = []
        errors = exc.errors()
        failed = {tuple(e["loc"][:-1]) for e in errors}  # lists with an item that failed
        for error in errors:
            if error["type"] == "too_short" and tuple(error["loc"]) in failed:
                continue  # "at least 1 item after validation": its items' errors say why
            loc, message, hint, at_key = describe(error)
            line, col = locator.position(0, loc, key=at_key)
            issues.append(ManifestIssue(name, line, col, dotted(loc), message, hint))
        raise ProjectFileError(issues) from None
    project = Project(path, config)
    _check_paths_inside(project, text)
    _check_distinct_states(project, text)
    return project


def _named_paths(project: Project) -> list[tuple[Loc, str]]:
    """Every local path the file names, with where: manifests, overlays, var files and state files
    (an environment's default state included; database URLs are not paths)."""
    config = project.config
    named: list[tuple[Loc, str]] = [
        (("manifests", i), p) for i, p in enumerate(config.manifests)]
    named += [(("varFiles", i), p) for i, p in enumerate(config.varFiles)]
    # a URL (any scheme) is not a path: the state backend refuses every scheme but PostgreSQL's
    # without showing the value, which may carry a password
    if config.state and not _is_url(config.state):  # "../x://y" is a path
        named.append((("state",), config.state))
    if config.agent.source:
        named.append((("agent", "source"), config.agent.source))
    for env_name, env in config.environments.items():
        here = ("environments", env_name)
        named += [((*here, "manifests", i), p) for i, p in enumerate(env.manifests or ())]
        named += [((*here, "overlays", i), p) for i, p in enumerate(env.overlays)]
        named += [((*here, "varFiles", i), p) for i, p in enumerate(env.varFiles)]
        if env.agent.source:  # a folder: a Git URL is taken from the command line only
            named.append(((*here, "agent", "source"), env.agent.source))
        if not _is_url(state_location(project, env_name)):  # or state/NAME.state.json
            named.append(((*here, "state"), env.state or f"state/{env_name}.state.json"))
    return named


def _is_url(value: str) -> bool:
    from reconciler.state.locations import foreign_scheme

    return is_database_url(value) or foreign_scheme(value) is not None


def _check_paths_inside(project: Project, text: str) -> None:
    """Paths in the project file are repository content: a pull request can edit them. Each
    must resolve (symlinks followed) inside the project folder, or a PR could have yottactl read
    /etc or write its state over a file of the user's. The command line may name any path."""
    from reconciler.manifest.positions import Locator

    root = project.root.resolve()
    issues = []
    for loc, value in _named_paths(project):
        resolved = Path(project.place(value)).resolve()  # the path yottactl opens
        if resolved.is_relative_to(root):
            continue
        name = _shown(project.path)
        line, col = Locator(name, text).position(0, loc)
        issues.append(ManifestIssue(
            name, line, col, dotted(loc),
            f"{value!r} is outside the project folder {root} (it resolves to {resolved})",
            "paths in yottactl.yaml stay inside its folder; to read or write elsewhere, name the "
            "path on the command line (PATH, --state)"))
    if issues:
        raise ProjectFileError(issues)


def _check_distinct_states(project: Project, text: str) -> None:
    from reconciler.manifest.positions import Locator

    seen: dict[str, str] = {}
    issues = []
    for env in project.config.environments:
        where = state_location(project, env)
        if where in seen:
            line, col = Locator(_shown(project.path), text).position(
                0, ("environments", env, "state"))
            issues.append(ManifestIssue(
                _shown(project.path), line, col, f"environments.{env}.state",
                f"environments {seen[where]!r} and {env!r} share the state {where}",
                "give each environment its own state so an apply in one can never touch another"))
        seen[where] = env
    if issues:
        raise ProjectFileError(issues)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def is_database_url(value: str) -> bool:
    return value.split("://", 1)[0].lower() in ("postgres", "postgresql") and "://" in value


def with_state_name(value: str, environment: str) -> str:
    """A PostgreSQL state URL without ``?state=`` gets the environment's name, so one database
    URL serves every environment and each still has its own state. Files are unchanged."""
    from urllib.parse import parse_qs, urlsplit

    if not is_database_url(value) or "state" in parse_qs(urlsplit(value).query):
        return value
    return f"{value}{'&' if '?' in value else '?'}state={environment}"


def state_location(project: Project, environment: str | None) -> str:
    """An environment's own ``state``, else the global PostgreSQL URL with ``?state=NAME``,
    else ``state/NAME.state.json`` beside the project file; never another environment's."""
    config = project.config
    if environment is None:
        return project.place(config.state) if config.state else ""
    own = config.environments[environment].state
    if own is None and config.state and is_database_url(config.state):
        own = config.state
    return with_state_name(project.place(own or f"state/{environment}.state.json"), environment)


def resolve(project: Project | None, environment: str | None) -> Context:
    """The :class:`Context` for ``--env environment`` (``None``: the file's global settings)."""
    if project is None:
        if environment:
            raise UsageError(f"environment {environment!r} selected but there is no {PROJECT_FILE}",
                             hint=f"run from a folder with a {PROJECT_FILE} (or a parent), pass "
                                  "--project FILE, or unset YOTTACTL_ENV")
        return Context()
    config = project.config
    if environment is None:
        return Context(project=project, manifests=_manifests(project, config.manifests),
                       endpoint=config.endpoint,
                       state=state_location(project, None) or None, defaults=config.defaults,
                       rollout=config.defaults.rollout, policies=config.policies,
                       api_version=config.api, agent=_agent(project, config.agent))
    env = config.environments.get(environment)
    if env is None:
        names = sorted(config.environments)
        import difflib

        close = difflib.get_close_matches(environment, names, n=1, cutoff=0.5)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"defined in {project.path}: {', '.join(names)}" if names
            else f"{project.path} defines no environments")
        raise UsageError(f"unknown environment {environment!r}", hint=hint)
    return Context(
        project=project, environment=environment,
        manifests=_manifests(project, env.manifests or config.manifests),
        endpoint=env.endpoint or config.endpoint,
        state=state_location(project, environment),
        overlays=tuple(project.place(p) for p in env.overlays),
        defaults=config.defaults, rollout=env.rollout or config.defaults.rollout,
        policies=config.policies.merged(env.policies), api_version=env.api or config.api,
        agent=_agent(project, config.agent.model_copy(
            update={key: getattr(env.agent, key) for key in env.agent.model_fields_set})),
    )


def _agent(project: Project, agent: Agent) -> Agent:
    """The agent's keys with its source folder placed beside the project file."""
    if agent.source is None:
        return agent
    return agent.model_copy(update={"source": project.place(agent.source)})


def _manifests(project: Project, configured: tuple[str, ...]) -> tuple[str, ...]:
    """The configured folders, else manifests/ or deploy/ beside the project file (a link
    to a folder outside the project is refused, as configured paths are in load)."""
    if not configured:
        configured = tuple(d for d in ("manifests", "deploy") if (project.root / d).is_dir())[:1]
        for folder in configured:
            resolved = (project.root / folder).resolve()
            if not resolved.is_relative_to(project.root.resolve()):
                raise UsageError(
                    f"{project.place(folder)} is a link to {resolved}, outside the project folder",
                    hint="manifest folders stay inside the project: replace the link with the "
                         "folder, or name the folder on the command line")
    return tuple(project.place(p) for p in configured)


def context_for(project_file: str | None, environment: str | None,
                catalog: Catalog | None = None) -> Context:
    """The project named by ``--project`` (or found by walking up) resolved for ``--env``."""
    if project_file:
        path = Path(project_file)
        if not path.is_file():
            raise UsageError(f"no such project file: {project_file}",
                             hint=f"pass the path of a {PROJECT_FILE}")
    else:
        found = find()
        if found is None:
            return resolve(None, environment)
        path = found
    return resolve(load(path, catalog), environment)


def manifest_paths(context: Context, paths: tuple[str, ...] | list[str] = ()) -> list[str]:
    """What to read: the command line's paths if any, else the project's manifest folders,
    else nothing, and the loader reads the conventional folder (manifests/ or deploy/) or
    refuses with a hint: never every YAML file under the working directory."""
    if paths:
        return list(paths)
    return list(context.manifests)
