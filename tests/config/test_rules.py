"""Every numeric, boolean and enumerated setting of every config group has an allowed range
(``hpt.config.rules.RULES``), and any value outside it is refused with one line naming the key.

The range checks run in-process on configs composed once per group option (a compose costs
a quarter of a second; an override applied the way Hydra applies it costs a millisecond);
``test_cli_refuses_out_of_range_values_with_exit_2_and_one_line`` goes through ``hpt train``'s
whole command path in-process, and tests/test_bad_input.py runs the issue's cases for real.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import pytest
from helpers import compose_config
from helpers.in_process import hpt
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from hpt.cli.app import config_dir
from hpt.config.check import validate
from hpt.config.ranges import AutoOr, ListOf, Match, Num, OneOf
from hpt.config.rules import RULES, problems
from hpt.errors import UserError, one_line

CONF = config_dir()
# search/* sets the sweeper's space (tests/test_sweep*), hydra/* is Hydra's own
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in ("hydra", "search"))
NOT_SETTINGS = ("_target_", "_partial_")  # what instantiate reads, not a user's number
# checked where they are used
FREE_TEXT = {
    "data.name",
    "data.root",
    "data.path",
    "data.target",
    "data.features",
    "data.test_path",
    "task.name",
    "objective.metric",
    "logger.mlflow.tracking_uri",
    "logger.mlflow.experiment",
    "logger.wandb.project",  # W&B checks the name when the run starts
    "resume",  # a run directory: hpt.training.resume.load names it in one line when it has no last.pt
}


def option_overrides(group: str, option: str) -> list[str]:
    return [f"+{group}={option}"] if group == "lr_find" else [f"{group}={option}"]


@cache
def composed(group: str, option: str) -> DictConfig:
    return compose_config(option_overrides(group, option))


def options() -> list[tuple[str, str]]:
    return [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


def leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(leaves(value, name + "."))
        else:
            out[name] = value
    return out


def settings_of(cfg: DictConfig) -> dict[str, Any]:
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return {
        k: v
        for k, v in leaves(container).items()
        if k.rsplit(".", 1)[-1] not in NOT_SETTINGS and k not in FREE_TEXT
    }


@cache
def where() -> dict[str, tuple[str, str]]:
    """For every key of RULES, a group option whose composed config has it."""
    found: dict[str, tuple[str, str]] = {}
    for group, option in options():
        for key in settings_of(composed(group, option)):
            found.setdefault(key, (group, option))
    return found


@pytest.mark.parametrize(("group", "option"), options())
def test_every_setting_of_every_option_has_a_rule_and_its_default_passes(
    group: str, option: str
) -> None:
    cfg = composed(group, option)
    missing = sorted(set(settings_of(cfg)) - set(RULES))
    assert missing == [], f"{group}={option}: add these keys to hpt.config.rules.RULES"
    assert problems(cfg) == []


def test_every_rule_names_a_real_setting() -> None:
    stale = sorted(set(RULES) - set(where()))
    assert stale == [], "RULES names keys no config option has"


# -- values outside each range ------------------------------------------------------------
def _text(value: Any) -> str:
    """An override's value, as a user would type it."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf: Hydra's grammar reads them as floats
    if isinstance(value, list):
        return "[" + ",".join(_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)


words = st.from_regex(r"x[a-z]{0,6}", fullmatch=True)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])


def outside(rule: Num) -> st.SearchStrategy[Any]:
    """Numbers (and non-numbers) that ``rule`` must refuse."""
    bad: list[st.SearchStrategy[Any]] = [non_finite, words]
    step = st.integers(1, 10**6) if rule.integer else st.floats(1e-6, 1e6)
    if math.isfinite(rule.lo):
        bad.append(step.map(lambda d: rule.lo - d))
        if rule.lo_open:
            bad.append(st.just(int(rule.lo) if rule.integer else float(rule.lo)))
    if math.isfinite(rule.hi):
        bad.append(step.map(lambda d: rule.hi + d))
        if rule.hi_open:
            bad.append(st.just(float(rule.hi)))
    if rule.integer:
        bad.append(st.integers(max(int(rule.lo), -(10**6)), 10**6).map(lambda i: i + 0.5))
        bad.append(st.just(10**30))  # past every int64 and the seed range
    if not rule.optional:
        bad.append(st.just(None))
    return st.one_of(bad)


def invalid(rule: Any) -> st.SearchStrategy[Any]:
    if isinstance(rule, Num):
        return outside(rule)
    if isinstance(rule, OneOf):
        extra = [st.integers(2, 99)] if True in rule.choices else [st.integers()]
        return st.one_of(words, *extra).filter(lambda v: not rule.allows(v))
    if isinstance(rule, ListOf):
        good = st.just(1 if rule.item.integer else 0.5)
        wrong_length = st.lists(good, max_size=5).filter(
            lambda v: not v or (rule.length is not None and len(v) != rule.length)
        )
        n = rule.length or 2
        one_bad = st.tuples(
            outside(rule.item).filter(lambda v: v is not None), st.integers(0, n - 1)
        )
        with_bad = one_bad.map(lambda t: [t[0] if i == t[1] else 1 for i in range(n)])
        return st.one_of(words, wrong_length, with_bad)
    if isinstance(rule, AutoOr):
        return outside(rule.inner).filter(lambda v: v != "auto")
    assert isinstance(rule, Match)
    return st.one_of(words, st.integers())


def apply_override(cfg: DictConfig, key: str, text: str) -> DictConfig:
    """``key=text`` applied the way Hydra's config loader applies a command-line override."""
    (override,) = OverridesParser.create().parse_overrides([f"{key}={text}"])
    cfg = cfg.copy()
    try:
        OmegaConf.update(cfg, key, override.value(), merge=True)
    except OmegaConfBaseException as exc:  # Hydra's wording for a value the schema refuses
        raise ConfigCompositionException(f"Error merging override {key}={text}") from exc
    return cfg


def refusal(key: str, value: Any) -> str:
    """The one-line message for ``key=value``; fails the test when the value is accepted."""
    group, option = where()[key]
    try:
        validate(apply_override(composed(group, option), key, _text(value)))
    except Exception as exc:  # a type the schema refuses (OmegaConf) or a range (UserError)
        assert isinstance(exc, UserError) or type(exc).__module__.startswith(
            ("omegaconf", "hydra")
        ), repr(exc)
        return one_line(exc)
    raise AssertionError(f"{key}={_text(value)} was accepted")


@pytest.mark.parametrize("key", sorted(RULES))
def test_any_value_outside_a_documented_range_is_refused_in_one_line(key: str) -> None:
    if key not in where():
        pytest.skip(f"no config option has {key}")

    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(invalid(RULES[key]))
    def check(value: Any) -> None:
        message = refusal(key, value)
        assert "\n" not in message and key.rsplit(".", 1)[-1] in message, message

    check()


def test_a_refusal_names_the_key_the_value_and_the_allowed_range() -> None:
    assert refusal("model.width", 0) == "model.width=0: must be an integer in [1, 2147483647]."
    assert (
        refusal("regularization.dropout", -0.1)
        == "regularization.dropout=-0.1: must be a number in [0, 1)."
    )
    assert refusal("trainer.deterministic", 2) == "trainer.deterministic=2: must be true or false."
    assert refusal("optimizer.betas", [0.9]).startswith(
        "optimizer.betas=[0.9]: must be a list of 2"
    )


def test_several_bad_values_are_named_together_on_one_line() -> None:
    cfg = apply_override(
        apply_override(composed("model", "mlp"), "model.width", "0"), "model.depth", "-1"
    )
    with pytest.raises(UserError) as info:
        validate(cfg)
    assert str(info.value) == (
        "model.width=0: must be an integer in [1, 2147483647]; "
        "model.depth=-1: must be an integer in [0, 2147483647]"
    )


def test_a_key_added_to_a_schema_group_is_refused_with_the_closest_name() -> None:
    cfg = compose_config(["+trainer.epoch=1"])
    with pytest.raises(
        UserError,
        match=r"trainer.epoch is not a setting of trainer \(did you mean trainer.epochs\?\)",
    ):
        validate(cfg)


def test_lr_find_end_must_be_above_start() -> None:
    cfg = compose_config(["+lr_find=default", "lr_find.end=1e-9"])
    assert problems(cfg) == ["lr_find.end=1e-09: must be > lr_find.start=1e-07"]


# -- through the command ----------------------------------------------------------------
@settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.sampled_from(sorted(k for k in RULES if not k.startswith(("task.", "lr_find.")))).flatmap(
        lambda key: st.tuples(st.just(key), invalid(RULES[key]))
    )
)
def test_cli_refuses_out_of_range_values_with_exit_2_and_one_line(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, Any]
) -> None:
    key, value = case
    group, option = where()[key]
    cwd = tmp_path_factory.mktemp("cli")
    ran = hpt("train", *option_overrides(group, option), f"{key}={_text(value)}", cwd=cwd)
    assert ran.rc == 2, (key, value, ran.stderr)
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpt train: error: "), ran.stderr
    assert list(cwd.iterdir()) == [], "a refused run wrote files"


def test_a_range_is_stated_once_beside_its_schema_field() -> None:
    """trainer, regularization and compress have schemas: their ranges sit on the fields, and
    the named table (for groups without one) does not state them again."""
    import dataclasses

    from hpt.config import rules
    from hpt.config.schema import AugmentConfig, TrainerConfig

    epochs = {f.name: f for f in dataclasses.fields(TrainerConfig)}["epochs"]
    assert RULES["trainer.epochs"] is epochs.metadata["rule"]
    translate = {f.name: f for f in dataclasses.fields(AugmentConfig)}["translate"]
    assert RULES["regularization.augment.translate"] is translate.metadata["rule"]
    stated_twice = [
        k for k in rules._NAMED if k.startswith(("trainer.", "regularization.", "compress."))
    ]
    assert stated_twice == []
