"""Config values of the wrong kind of number: every key checked for type, finiteness and range, the
message naming the key; fuzzed with hypothesis, `Config.from_dict` raises nothing but ConfigError."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lr_jax.config import DERIVED, Config
from lr_jax.config.schema import _SECTIONS
from lr_jax.errors import ConfigError

KEYS = [(s, f.name) for s, cls in _SECTIONS.items() for f in dataclasses.fields(cls) if f.name not in DERIVED]
NASTY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-(2**40), 2**40), st.floats(), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from(KEYS), value=NASTY, other=st.sampled_from(KEYS), other_value=NASTY)
def test_from_dict_raises_only_config_errors(key, value, other, other_value):
    d = {key[0]: {key[1]: value}}
    d.setdefault(other[0], {})[other[1]] = other_value
    try:
        Config.from_dict(d)
    except ConfigError as e:
        assert any(f"{s}.{k}" in str(e) or f"{s}=" in str(e) for s, k in (key, other)), str(e)


@given(section=st.sampled_from(list(_SECTIONS)), value=NASTY.filter(lambda v: not isinstance(v, dict)))
def test_a_group_that_is_not_a_mapping_is_refused(section, value):
    if value in (None, [], "", 0, False):
        return  # empty: the group's defaults
    with pytest.raises(ConfigError, match=f"{section}="):
        Config.from_dict({section: value})


@pytest.mark.parametrize(
    "section, key, value, says",
    [
        ("train", "seed", -1, "0 <= seed <= 4294967295"),
        ("train", "seed", 2**32, "0 <= seed <= 4294967295"),
        ("data", "split_seed", -3, "0 <= seed"),
        ("data", "seed", 2**40, "0 <= seed"),
        ("sweep", "seeds", [0, -1], "seeds 0..4294967295"),
        ("data", "image_size", 100000, "an integer >= 1 and <= 4096"),
        ("model", "l2", float("nan"), "expected a finite number"),
        ("model", "l2", float("inf"), "expected a finite number"),
        ("train", "tol", float("-inf"), "expected a finite number"),
        ("train", "tol", -1e-3, "a number >= 0"),
        ("optim", "learning_rate", float("inf"), "expected a finite number"),
        ("optim", "learning_rate", 10**400, "expected a finite number"),
        ("train", "num_iterations", 2**31, "at most 2147483647"),
        ("train", "max_iterations", 2**40, "at most 2147483647"),
        ("train", "log_every", 2**80, "an integer of at most"),
    ],
)
def test_out_of_range_number_names_the_key(section, key, value, says):
    with pytest.raises(ConfigError, match=rf"^{section}\.{key}=") as e:
        Config.from_dict({section: {key: value}})
    assert says in str(e.value)
