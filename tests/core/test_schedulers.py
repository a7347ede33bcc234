"""Each scheduler option moves the learning rate as its config documents, inside the real loop."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

import pytest
from helpers import compose_config

from hpt.build import build
from hpt.cli.app import config_dir
from hpt.training.loop import fit
from hpt.training.loop_types import Callbacks

LR = 1e-3


def lr_trace(*overrides: str, epochs: int) -> tuple[list[float], list[float], int]:
    """(lr after every optimizer step, lr logged for every epoch, steps per epoch) of a short run."""
    cfg = compose_config(
        [
            "data=mnist_tiny",
            f"trainer.epochs={epochs}",
            "trainer.quiet=true",
            f"optimizer.lr={LR}",
            *overrides,
        ]
    )
    run = build(cfg)
    steps: list[float] = [run.optimizer.param_groups[0]["lr"]]
    result = fit(
        run, Callbacks(on_step=lambda _: steps.append(run.optimizer.param_groups[0]["lr"]))
    )
    return steps, [m["lr"] for m in result.history], len(run.data.train) // run.settings.batch_size


def check_none() -> None:
    steps, epochs, _ = lr_trace("scheduler=none", epochs=2)
    assert set(steps) == {LR} and set(epochs) == {LR}


def check_step() -> None:
    _, epochs, _ = lr_trace("scheduler=step", epochs=5)  # step_size 2, gamma 0.5
    assert epochs == pytest.approx([LR, LR, LR / 2, LR / 2, LR / 4])


def check_multistep() -> None:
    _, epochs, _ = lr_trace("scheduler=multistep", "scheduler.milestones=[1,3]", epochs=4)
    assert epochs == pytest.approx([LR, LR / 10, LR / 10, LR / 100])


def check_exponential() -> None:
    _, epochs, _ = lr_trace("scheduler=exponential", epochs=3)  # gamma 0.9 per epoch
    assert epochs == pytest.approx([LR, 0.9 * LR, 0.81 * LR])


def check_cosine() -> None:
    steps, _, per_epoch = lr_trace("scheduler=cosine", "scheduler.eta_min=1e-5", epochs=2)
    assert steps[0] == pytest.approx(LR)
    assert all(b <= a + 1e-12 for a, b in pairwise(steps))  # never goes up
    middle = steps[per_epoch]  # half way: cosine is at the mean of lr and eta_min
    assert middle == pytest.approx((LR + 1e-5) / 2, rel=0.05)
    assert steps[-1] == pytest.approx(1e-5, rel=1e-3)


def check_plateau() -> None:
    # lr so small that float32 weights cannot move: val/acc never improves, so after
    # `patience` (1) stale epochs the lr is halved.
    tiny = 1e-12
    _, epochs, _ = lr_trace(
        "scheduler=plateau",
        "optimizer=sgd",
        "optimizer.momentum=0",
        f"optimizer.lr={tiny}",
        epochs=5,
    )
    assert epochs == pytest.approx([tiny, tiny, tiny, tiny / 2, tiny / 2], rel=1e-6)


def check_onecycle() -> None:
    steps, _, per_epoch = lr_trace("scheduler=onecycle", epochs=4)  # peak 10 * lr at 25%
    peak = max(steps)
    assert peak == pytest.approx(10 * LR, rel=1e-3)
    assert steps[0] == pytest.approx(10 * LR / 25)  # OneCycleLR's default div_factor
    assert abs(steps.index(peak) - 0.25 * 4 * per_epoch) <= 2
    assert steps[-2] < LR / 100


def check_warmup(decay: str) -> Callable[[], None]:
    def check() -> None:
        steps, _, per_epoch = lr_trace(
            f"scheduler=warmup_{decay}",
            "scheduler.warmup_fraction=0.25",
            "scheduler.final_lr_factor=0.1",
            epochs=4,
        )
        total = 4 * per_epoch
        warmup = int(total * 0.25)
        assert steps[0] < 0.1 * LR  # starts near 0
        assert max(steps) == pytest.approx(LR) and steps.index(max(steps)) == warmup - 1
        assert all(b > a for a, b in pairwise(steps[:warmup]))  # rises linearly
        assert steps[-1] == pytest.approx(0.1 * LR)  # ends at final_lr_factor * lr
        progress = 0.5
        mid = steps[warmup + int((total - warmup) * progress)]
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if decay == "cosine" else 1 - progress
        assert mid == pytest.approx(LR * (0.1 + 0.9 * shape), rel=0.05)

    return check


CHECKS: dict[str, Callable[[], None]] = {
    "none": check_none,
    "step": check_step,
    "multistep": check_multistep,
    "exponential": check_exponential,
    "cosine": check_cosine,
    "plateau": check_plateau,
    "onecycle": check_onecycle,
    "warmup_cosine": check_warmup("cosine"),
    "warmup_linear": check_warmup("linear"),
}


def test_every_scheduler_option_has_a_behaviour_check() -> None:
    assert sorted(CHECKS) == sorted(p.stem for p in (config_dir() / "scheduler").glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_scheduler_changes_lr_as_documented(name: str) -> None:
    CHECKS[name]()
