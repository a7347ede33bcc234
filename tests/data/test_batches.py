"""Batching by slicing (``hpt.data.tensor_batches``, ``hpt.training.loop.batches``): what each epoch sees."""

from __future__ import annotations

import torch

from hpt.data import Split, tensor_batches


def _split(n: int) -> Split:
    return Split(torch.arange(n).float().unsqueeze(1), torch.arange(n))


def test_evaluation_batches_cover_every_row_once_in_order() -> None:
    batches = list(tensor_batches(_split(10), 4, shuffle=False))
    assert [len(y) for _, y in batches] == [4, 4, 2]  # the short last batch is kept
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(10))


def test_training_batches_are_a_permutation_with_the_short_batch_dropped() -> None:
    gen = torch.Generator().manual_seed(0)
    batches = list(tensor_batches(_split(10), 4, shuffle=True, generator=gen, drop_last=True))
    assert [len(y) for _, y in batches] == [4, 4]
    seen = torch.cat([y for _, y in batches])
    assert len(set(seen.tolist())) == 8 and not torch.equal(seen, torch.arange(8))
    for x, y in batches:  # inputs and targets stay paired
        assert torch.equal(x.squeeze(1).long(), y)


def test_a_split_smaller_than_a_batch_still_gives_one_batch_when_dropping_the_last() -> None:
    gen = torch.Generator().manual_seed(0)
    batches = list(tensor_batches(_split(3), 8, shuffle=True, generator=gen, drop_last=True))
    assert [len(y) for _, y in batches] == [3]


def test_the_order_follows_the_generator_seed_and_changes_each_epoch() -> None:
    def epoch_orders(seed: int) -> list[list[int]]:
        gen = torch.Generator().manual_seed(seed)
        return [
            torch.cat(
                [y for _, y in tensor_batches(_split(32), 8, shuffle=True, generator=gen)]
            ).tolist()
            for _ in range(2)
        ]

    first, again, other = epoch_orders(0), epoch_orders(0), epoch_orders(1)
    assert first == again  # same seed, same batches: runs are reproducible
    assert first[0] != first[1]  # a new permutation every epoch
    assert first != other
