"""The planner's flat differ (top-level values and environment variables, no deepdiff import)
against deepdiff itself: whenever the flat differ answers, it answers as deepdiff does."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.essence import Essence
from reconciler.plan.diff import _deep_changes, _flat_changes, diff

TEXT = st.sampled_from(["", "a", "b", "(absent)", "llama", "3.10", "x" * 40])
NUMBER = st.one_of(st.none(), st.integers(-2, 5))
ENV = st.dictionaries(st.sampled_from(["A", "B", "MODEL", "x.y", "(absent)"]), TEXT, max_size=4)
RESOURCES = st.lists(st.fixed_dictionaries({"region": st.sampled_from(["us", "eu"]),
                                            "gpuType": st.sampled_from(["A100", "H100"]),
                                            "gpuCount": st.integers(1, 2)}), max_size=2)
EXPOSE = st.one_of(st.none(), st.fixed_dictionaries({"port": st.sampled_from([80, 8000]),
                                                     "protocol": st.just("HTTP")}))


@st.composite
def essences(draw: st.DrawFn) -> dict[str, Any]:
    return Essence.model_validate({
        "image": draw(TEXT), "imageRegistry": draw(TEXT), "serviceMode": draw(TEXT),
        "credentialId": draw(st.one_of(st.none(), TEXT)), "resources": draw(RESOURCES),
        "workers": draw(NUMBER), "containerVolumeInGb": draw(NUMBER), "expose": draw(EXPOSE),
        "initializationCommand": draw(TEXT), "environmentVars": draw(ENV),
        "minSingleCardVramInGb": draw(NUMBER), "webhookUrl": draw(TEXT),
    }).plain()


@st.composite
def pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two essences that differ in a few fields (as a real plan's pairs do), sometimes many."""
    before = draw(essences())
    other = draw(essences())
    keys = draw(st.sets(st.sampled_from(sorted(before)), max_size=len(before)))
    after = {k: (other[k] if k in keys else v) for k, v in before.items()}
    return before, after


@settings(max_examples=200, deadline=None)
@given(pairs())
def test_flat_differ_agrees_with_deepdiff(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    before, after = pair
    flat = _flat_changes(before, after)
    if flat is not None:
        assert flat == _deep_changes(before, after) if before != after else flat == {}


@settings(max_examples=100, deadline=None)
@given(essences(), st.sampled_from(["A", "B", "NEW"]), st.one_of(st.none(), TEXT), NUMBER, TEXT)
def test_flat_differ_answers_the_common_cases(base: dict[str, Any], name: str,
                                              value: str | None, workers: int | None,
                                              image: str) -> None:
    """A scale, a new image, one variable set, added or removed: never deepdiff (else the fast
    path would be dead code)."""
    env = dict(base["environmentVars"])
    if value is None:
        env.pop(name, None)
    else:
        env[name] = value
    after = {**base, "environmentVars": env, "workers": workers, "image": image}
    flat = _flat_changes(base, after)
    assert flat is not None
    assert flat == (_deep_changes(base, after) if base != after else {})


def test_a_removed_variable_whose_value_reads_absent_is_still_a_change() -> None:
    before = Essence.model_validate({"environmentVars": {"A": "(absent)"}})
    after = Essence.model_validate({"environmentVars": {}})
    (change,) = diff(before, after)
    assert (change.path, change.before, change.after) == ("environmentVars.A", "(absent)",
                                                          "(absent)")
