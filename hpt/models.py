"""Models. Each takes plain arguments: the input shape and output size come from the data."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(
        self,
        in_shape: Sequence[int],
        out_features: int,
        width: int = 256,
        depth: int = 2,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        features = math.prod(in_shape)
        for _ in range(depth):
            layers.append(nn.Linear(features, width, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU(inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            features = width
        layers.append(nn.Linear(features, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv(cin: int, cout: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return layers


class CNN(nn.Module):
    """VGG-style: per block two 3x3 convs and a 2x2 max-pool, then global pooling and an FC head."""

    is_conv = True

    def __init__(
        self,
        in_shape: Sequence[int],
        out_features: int,
        channels: Sequence[int] = (32, 64),
        fc_width: int = 128,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(in_shape) != 3:
            raise ValueError(
                f"model=cnn needs image data (C, H, W), got input shape {list(in_shape)}"
            )
        layers: list[nn.Module] = []
        cin = in_shape[0]
        for cout in channels:
            layers += (
                _conv(cin, cout, batch_norm) + _conv(cout, cout, batch_norm) + [nn.MaxPool2d(2)]
            )
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(cin * 4, fc_width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Linear(fc_width, out_features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def resnet18(in_shape: Sequence[int], out_features: int, dropout: float = 0.0) -> nn.Module:
    """torchvision's ResNet-18 adapted to small images: 3x3 stride-1 stem, no max-pool."""
    from torchvision.models import resnet18 as tv_resnet18

    if len(in_shape) != 3:
        raise ValueError(
            f"model=resnet18 needs image data (C, H, W), got input shape {list(in_shape)}"
        )
    model = tv_resnet18(num_classes=out_features)
    model.conv1 = nn.Conv2d(in_shape[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()  # type: ignore[assignment]
    if dropout > 0:
        model.fc = nn.Sequential(nn.Dropout(dropout), model.fc)  # type: ignore[assignment]
    model.is_conv = True  # type: ignore[assignment]
    return model


def count_parameters(model: nn.Module) -> int:
    """The number of parameters of ``model`` (every tensor in ``parameters()``)."""
    return sum(p.numel() for p in model.parameters())
