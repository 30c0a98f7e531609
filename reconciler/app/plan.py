"""Orchestration shared by commands: load manifests, read state, one list call, plan.

No printing and no prompts (that is ``reconciler/cli/``'s job); returns data and timings.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from reconciler.errors import ApiError
from reconciler.fields import DEFAULT_API_VERSION, V2
from reconciler.plan.model import Plan
from reconciler.project import Inputs
from reconciler.redact import Secrets
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.api.models import GpuType
    from reconciler.app.session import Session
    from reconciler.manifest.schema import DesiredDeployment
    from reconciler.plan.live import LiveDeployment
    from reconciler.plan.planner import Desired
    from reconciler.policy.report import PolicyReport
    from reconciler.state.model import State
    from reconciler.state.protocol import Backend

T = TypeVar("T")
Capacity = Literal["warn", "require"] | None  # build_plan's GPU capacity check (v2 only)


@dataclass
class PlanRun:
    plan: Plan
    desired: dict[str, Desired]  # the manifests' essences with real values (never shown)
    live: list[LiveDeployment]  # what the plan keeps of each listed deployment
    state: State | None
    timings: dict[str, float] = field(default_factory=dict)
    # the project's policies checked against the plan (reconciler/policy), no override applied
    policy: PolicyReport | None = None


@dataclass
class Loaded(Generic[T]):
    deployments: list[T]  # DesiredDeployment, or what the plan keeps of each (load_desired)
    warnings: list[str]
    documents: list[tuple[str, int, dict[str, Any]]] | None = None  # with keep_documents
    overlays: dict[str, list[str]] = field(default_factory=dict)  # deployment -> overlay files


def load_manifests(
    paths: Sequence[str], inputs: Inputs | None = None, *, require_env: bool = True,
    keep_documents: bool = False, secrets: Secrets | None = None,
) -> Loaded[DesiredDeployment]:
    """The manifests at ``paths`` (default: the project's manifest folders, else manifests/ or
    deploy/, see discovery.default_paths) after
    the project's variables and the environment's overlays; warnings for unused variables.
    ``secrets``: the command's (its session's), to which the ``${env:...}`` values go."""
    return _load(paths, inputs, _itself, require_env=require_env, keep_documents=keep_documents,
                 secrets=secrets)


def load_desired(paths: Sequence[str], inputs: Inputs | None = None,
                 secrets: Secrets | None = None) -> Loaded[Desired]:
    """:func:`load_manifests` as the planner's :class:`Desired` views (each manifest model is
    dropped as soon as its view is built)."""
    from functools import partial

    from reconciler.plan.planner import desired_from_manifest

    rollout = (inputs or Inputs()).context.rollout  # the project's defaults.rollout, if any
    return _load(paths, inputs, partial(desired_from_manifest, default_rollout=rollout),
                 secrets=secrets)


def _load(
    paths: Sequence[str], inputs: Inputs | None, keep: Callable[[DesiredDeployment], T],
    *, require_env: bool = True, keep_documents: bool = False, secrets: Secrets | None = None,
) -> Loaded[T]:
    from functools import partial

    from reconciler.manifest.loader import Rendering, load_each
    from reconciler.manifest.overlay import OverlaySet
    from reconciler.manifest.variables import collect, declared_unused
    from reconciler.manifest.versions import name_rule, version_issues
    from reconciler.project import manifest_paths

    inputs = inputs or Inputs()
    context = inputs.context
    version = context.api_version or DEFAULT_API_VERSION
    rendering = Rendering(
        variables=collect(context.variable_sources(), inputs.cli_vars),
        overlays=OverlaySet(context.overlays) if context.overlays else None,
        documents=[] if keep_documents else None,
        project_root=context.project.root if context.project is not None else None,
        secrets=secrets if secrets is not None else Secrets(),
        catalog=inputs.catalog,
        rules=partial(version_issues, version=version, default_rollout=context.rollout),
        name_hint=name_rule(version))
    deployments = load_each(manifest_paths(context, list(paths)), keep,
                            require_env=require_env, rendering=rendering)
    patched = {name: list(dict.fromkeys(p.file for p in patches))
               for name, patches in (rendering.overlays.by_name if rendering.overlays else {}).items()}
    return Loaded(deployments, declared_unused(rendering.variables, rendering.used),
                  rendering.documents, patched)


def _itself(item: DesiredDeployment) -> DesiredDeployment:
    return item


def build_plan(
    settings: Settings,
    paths: Sequence[str] | None,
    *,
    targets: Sequence[str] = (),
    allow_mass_delete: bool = False,
    destroying: bool = False,
    state: State | None = None,
    replace: Sequence[str] = (),
    confirm_settled: bool = False,
    capacity: Capacity = None,
    session: Session | None = None,
) -> PlanRun:
    """Manifests + state + ONE list call -> Plan. ``paths=None`` with ``destroying`` plans
    the deletion of everything in the state (``state``; None: read from the backend);
    ``replace`` names deployments to replace. ``confirm_settled`` (apply): a second list
    confirms what the first showed settled (plan/settled.py). ``capacity`` ("warn" or
    "require"): under v2, one GET /v2/vms/types beside the list call marks creates at risk
    (plan/capacity.py). ``session``: the command's client and backend (without one, a session
    of its own, closed on return)."""
    if capacity == "require":
        check_capacity_gate(settings)
    if session is None:
        from reconciler.app.session import Session

        with Session(settings) as own:
            return build_plan(settings, paths, targets=targets,
                              allow_mass_delete=allow_mass_delete, destroying=destroying,
                              state=state, replace=replace, confirm_settled=confirm_settled,
                              capacity=capacity, session=own)
    with _no_gc_pauses():
        return _build_plan(settings, paths, targets=targets, allow_mass_delete=allow_mass_delete,
                           destroying=destroying, state=state, session=session, replace=replace,
                           confirm_settled=confirm_settled, capacity=capacity)


def check_capacity_gate(settings: Settings) -> None:
    """--require-capacity needs v2's GET /v2/vms/types: under v1 it is refused before any API
    call, never ignored (a project switched to `api: v1` must not drop a CI gate unseen)."""
    if settings.api_version != V2:
        from reconciler.errors import UsageError

        raise UsageError(
            f"--require-capacity: capacity can only be checked under API v2 (this run speaks "
            f"API {settings.api_version}, which has no GET /v2/vms/types)",
            hint="pass --api-version v2 (or check `api:` in yottactl.yaml and "
                 "YOTTA_API_VERSION), or drop --require-capacity")


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Loading and planning a fleet allocates millions of small acyclic objects; the cyclic
    GC's repeated full scans of that growing heap made 10,000 deployments cost ~13x 1,000.
    Nothing here creates garbage cycles worth collecting mid-run. Scoped to planning, not
    switched off at process start (entry.py): apply, `logs --follow` and the emulator run
    for long after planning and do make cycles (threads, exceptions, httpx)."""
    from reconciler.process import gc_on_after_quiet_phase

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:  # what planning made is long-lived from here
            gc_on_after_quiet_phase()


def _build_plan(
    settings: Settings,
    paths: Sequence[str] | None,
    *,
    targets: Sequence[str],
    allow_mass_delete: bool,
    destroying: bool,
    state: State | None,
    session: Session,
    replace: Sequence[str] = (),
    confirm_settled: bool = False,
    capacity: Capacity = None,
) -> PlanRun:
    from reconciler.plan.live import live_view
    from reconciler.plan.planner import Options, make_plan

    timings: dict[str, float] = {}
    # the list call and the manifest parsing are independent: fetch while parsing
    shown: list[_Background[list[GpuType]]] = []  # v2's GPU availability, beside the list

    # the client and the backend are made on the threads that use them first: a missing API
    # key or a bad state URL is reported after the manifests' own errors, as the calls' are
    def fetch() -> list[LiveDeployment]:
        client = session.client
        if capacity and not destroying and client.api_version == V2:
            shown.append(_Background(client.gpu_types))
        return client.list_each(live_view)

    fetching = _Background(fetch)
    # read-only: fold an interrupted run's journal in memory, write nothing. Read beside the
    # manifest parsing: a database's connect and query (and the list call) wait in parallel
    reading = None if state is not None else _Background(lambda: _read_state(session.store))
    started = time.perf_counter()
    manifests: Loaded[Desired] = (Loaded([], []) if destroying and paths is None
                                  else load_desired(paths or [], settings.inputs, session.secrets))
    loaded = manifests.deployments
    if reading is not None:
        state = reading.result()
    timings["load"] = time.perf_counter() - started
    _check_targets(targets, loaded, state)
    try:
        live = fetching.result()  # the list call's own error, if any, surfaces here
    except ApiError as exc:  # raised while the manifests' ${env:...} values were being read
        raise exc.masked(session.secrets) from exc.__cause__
    client = session.client
    timings["fetch"] = fetching.seconds
    started = time.perf_counter()
    desired = [] if destroying else loaded
    catalog = settings.inputs.catalog
    options = Options(targets=frozenset(targets), allow_mass_delete=allow_mass_delete, catalog=catalog,
                      destroying=destroying, replace=frozenset(replace))
    if destroying and paths:  # destroy PATH...: only what those manifests name
        options = Options(targets=frozenset(targets) or frozenset(d.name for d in loaded), catalog=catalog,
                          allow_mass_delete=allow_mass_delete, destroying=True,
                          prevent_destroy={d.name: d.prevent_destroy for d in loaded})
    plan = make_plan(desired, live, state, session.fingerprinter, options)
    if confirm_settled:
        from reconciler.plan.settled import settled_ids, unconfirmed

        if settled_ids(plan):  # one more list call, however many deployments
            again = dict(client.list_each(lambda d: (d.id, d.status)))
            moved = unconfirmed(plan, live, again)
            if moved is not None:  # something left its status in between: plan what is now
                live = moved
                plan = make_plan(desired, live, state, session.fingerprinter, options)
    plan = plan.model_copy(update={"api_version": client.api_version})
    if shown:
        plan = _with_capacity(plan, shown[0], required=capacity == "require")
    context = settings.inputs.context
    if context.project is not None:  # the header names where this plan applies
        plan = plan.model_copy(update={"environment": context.environment,
                                       "endpoint": client.base_url})
    if manifests.warnings:
        from reconciler.plan.model import DiagnosticCode, warning

        unused = [warning(DiagnosticCode.UNUSED_VARIABLE, None, w) for w in manifests.warnings]
        plan = plan.model_copy(update={"diagnostics": (*unused, *plan.diagnostics)})
    if state is None and not destroying:  # a first run, or not the state the user meant
        from reconciler.new_state import notice

        plan = plan.model_copy(update={"diagnostics": (*plan.diagnostics,
                                                       notice(settings, session.store, plan))})
    timings["plan"] = time.perf_counter() - started
    run = PlanRun(plan, {d.name: d for d in loaded}, live, state, timings)
    from reconciler.app.policy import check_run

    started = time.perf_counter()  # pure: no API call (bench/policy_bench.py)
    run.policy = check_run(settings, plan, run.desired, live, state, session.secrets)
    timings["policy"] = time.perf_counter() - started
    return run


def _with_capacity(plan: Plan, shown: _Background[list[GpuType]], *, required: bool) -> Plan:
    """The plan with its creates at risk marked; if the endpoint could not say, a warning
    (an error with --require-capacity: nothing was checked)."""
    from reconciler.errors import ApiError
    from reconciler.plan.availability import availability_of
    from reconciler.plan.capacity import mark_capacity
    from reconciler.plan.model import DiagnosticCode, error, warning

    try:
        types = shown.result()
    except ApiError as exc:
        make = error if required else warning
        unknown = make(DiagnosticCode.CAPACITY_UNKNOWN, None,
                       f"GPU capacity not checked: GET /v2/vms/types failed ({exc})",
                       (exc.hint if exc.http_status == 404 else "plan again later") +
                       ("" if required else "; --require-capacity makes this an error"))
        return plan.model_copy(update={"diagnostics": (*plan.diagnostics, unknown)})
    return mark_capacity(plan, availability_of(types), required=required)


def save_plan(the_plan: Plan, out_file: str, policy: PolicyReport | None = None) -> None:
    """`plan --out FILE`: the plan file, written atomically (never half a plan), with its
    policy results as `plan -o json` shows them (apply checks again). A device, FIFO or
    directory at FILE is refused, never replaced; OS errors are UsageErrors."""
    from pathlib import Path

    from reconciler import localfile
    from reconciler.errors import UsageError
    from reconciler.state.backend import atomic_write

    refusal = localfile.check_writable_target(out_file)
    if refusal is not None:
        raise UsageError(f"--out {out_file}: {refusal}; refusing to replace it",
                         hint="pass the path of a new or ordinary file for the plan")
    try:
        atomic_write(Path(out_file),
                     the_plan.to_json({"policy": policy.to_dict()} if policy else None))
    except OSError as exc:
        raise UsageError(f"--out {out_file}: cannot write the plan: {exc.strerror or exc}",
                         detail="no plan file was written (any previous one is unchanged)",
                         hint="check the folder exists, is writable and has free space") from None


def _check_targets(targets: Sequence[str], loaded: Sequence[Desired],
                   state: State | None) -> None:
    """A --target that names nothing is a typo, not "No changes": say so (exit 1)."""
    import difflib

    from reconciler.errors import UsageError

    known = {d.name for d in loaded} | set(state.deployments if state else ())
    unknown = [t for t in dict.fromkeys(targets) if t not in known]
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.6)
    raise UsageError(
        f"--target {', '.join(repr(t) for t in unknown)}: no such deployment in the manifests "
        "or the state", hint=f"did you mean {close[0]!r}?" if close else
        "targets are metadata.name values; `yottactl state list` shows managed names")


def _read_state(store: Backend) -> State | None:
    from reconciler.apply.recovery import replay

    return replay(*store.read_with_journal())


class _Background(Generic[T]):
    """One call on a daemon thread: a failed manifest load reports at once instead of waiting
    for a slow API or database, and the process never waits for the thread at exit."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self.seconds = 0.0
        threading.Thread(target=self._run, name="background", daemon=True).start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc
        finally:
            self.seconds = time.perf_counter() - started
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)
