"""Models made for tables, from the packages their papers ship (``pip install 'hpt[tabular]'``):
TabM (``tabm``, Gorishniy et al., ICLR 2025) and the FT-Transformer (``rtdl-revisiting-models``,
Gorishniy et al., NeurIPS 2021). ``model=tabm`` / ``model=ft_transformer`` with ``data=table``
work with hpt's preprocessing (numeric columns standardised, text columns one-hot), predict and
export; ``search=tabm`` / ``search=ft_transformer`` are the spaces their papers tune.

TabM is k MLPs sharing most weights. In training it returns every member's prediction,
``(batch, k, out)``, and hpt's loss is the mean of the members' losses
(``hpt.training.loop.batch_loss``), as the paper trains it; in eval mode it returns the
ensemble's prediction, ``(batch, out)``: the log of the members' mean probabilities for classes,
their mean output otherwise (a binary target's logits are averaged). So evaluation, predict and
export see an ordinary model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hpt.errors import UserError


def _extra(module: str) -> Any:
    """The package of the ``tabular`` extra, or one line saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"this model needs {module.replace('_', '-')}: pip install 'hpt[tabular]'"
        ) from None


class TabM(nn.Module):
    """TabM on a table's encoded columns (``tabm.TabM.make``; no numeric embeddings)."""

    def __init__(
        self,
        in_shape: Sequence[int],
        out_features: int,
        k: int = 32,
        n_blocks: int = 3,
        d_block: int = 512,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        tabm = _extra("tabm")
        self.classes = out_features > 1
        self.net = tabm.TabM.make(
            n_num_features=math.prod(in_shape),
            cat_cardinalities=[],
            d_out=out_features,
            k=k,
            n_blocks=n_blocks,
            d_block=d_block,
            dropout=dropout,
        )
        if dropout == 0:  # tabm keeps a Dropout(0) in every block: a no-op, so drop it
            for block in self.net.modules():
                for name, child in block.named_children():
                    if isinstance(child, nn.Dropout):
                        setattr(block, name, nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x.flatten(1))  # (batch, k, out): one prediction per member
        if self.training:
            return out
        if self.classes:  # the ensemble's probabilities, as log-probabilities (logits)
            return torch.logsumexp(out.float().log_softmax(-1), dim=1) - math.log(out.shape[1])
        return out.mean(dim=1)


class FTTransformer(nn.Module):
    """The FT-Transformer on a table's encoded columns, every column a token
    (``rtdl_revisiting_models.FTTransformer``). ``block`` holds the rest of its block's
    arguments (``attention_n_heads``, ``attention_dropout``, ``ffn_d_hidden_multiplier``,
    ``ffn_dropout``, ``residual_dropout``), its paper's defaults where not given."""

    def __init__(
        self, in_shape: Sequence[int], out_features: int, n_blocks: int = 3, **block: Any
    ) -> None:
        super().__init__()
        rtdl = _extra("rtdl_revisiting_models")
        kwargs = {**rtdl.FTTransformer.get_default_kwargs(), **block, "n_blocks": n_blocks}
        kwargs.pop("_is_default", None)
        self.net = rtdl.FTTransformer(
            n_cont_features=math.prod(in_shape), cat_cardinalities=[], d_out=out_features, **kwargs
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1), None)
