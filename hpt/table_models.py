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

Both take ``embeddings.kind=periodic``: every numeric column is embedded by learned periodic
functions (``rtdl-num-embeddings``' ``PeriodicEmbeddings``, Gorishniy et al., "On Embeddings for
Numerical Features in Tabular Deep Learning", NeurIPS 2022) before the backbone sees it.
Piecewise-linear embeddings are not offered: their bins are computed from the training rows,
and a model here is built from its config and the data's shape only, so a shared run could not
rebuild them.
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


def periodic_embeddings(
    n_features: int, kind: str | None = "none", d_embedding: int = 16, frequency_scale: float = 0.01
) -> nn.Module | None:
    """``model.embeddings``: None for ``kind=none``, else the numeric columns' embeddings.

    Args:
        n_features: The encoded columns.
        kind: ``none`` (or None) or ``periodic``.
        d_embedding: Each column's embedding size (the FT-Transformer's is its token size).
        frequency_scale: The initial frequencies' scale (the paper's sigma, the setting it
            found matters most).

    Raises:
        UserError: Another kind.
    """
    if kind in (None, "none"):
        return None
    if kind != "periodic":
        raise UserError(
            f"model.embeddings.kind={kind!r} must be none or periodic (piecewise-linear "
            "embeddings need bins from the training rows, which a model is not built with)"
        )
    embeddings = _extra("rtdl_num_embeddings")
    return embeddings.PeriodicEmbeddings(  # type: ignore[no-any-return]
        n_features, d_embedding, frequency_init_scale=frequency_scale, lite=False
    )


class TabM(nn.Module):
    """TabM on a table's encoded columns (``tabm.TabM.make``), with periodic embeddings of the
    numeric columns if asked (``embeddings.kind=periodic``)."""

    def __init__(
        self,
        in_shape: Sequence[int],
        out_features: int,
        k: int = 32,
        n_blocks: int = 3,
        d_block: int = 512,
        dropout: float = 0.1,
        embeddings: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        tabm = _extra("tabm")
        self.classes = out_features > 1
        n = math.prod(in_shape)
        self.net = tabm.TabM.make(
            n_num_features=n,
            cat_cardinalities=[],
            d_out=out_features,
            num_embeddings=periodic_embeddings(n, **(embeddings or {})),
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
    ``ffn_dropout``, ``residual_dropout``), its paper's defaults where not given. With
    ``embeddings.kind=periodic`` each column's token is its periodic embedding (of the token's
    size) instead of a linear one."""

    def __init__(
        self,
        in_shape: Sequence[int],
        out_features: int,
        n_blocks: int = 3,
        embeddings: dict[str, Any] | None = None,
        **block: Any,
    ) -> None:
        super().__init__()
        rtdl = _extra("rtdl_revisiting_models")
        kwargs = {**rtdl.FTTransformer.get_default_kwargs(), **block, "n_blocks": n_blocks}
        kwargs.pop("_is_default", None)
        n = math.prod(in_shape)
        self.net = rtdl.FTTransformer(
            n_cont_features=n, cat_cardinalities=[], d_out=out_features, **kwargs
        )
        embed = {**(embeddings or {}), "d_embedding": kwargs["d_block"]}  # tokens: one size
        periodic = periodic_embeddings(n, **embed)
        if periodic is not None:
            self.net.cont_embeddings = periodic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1), None)
