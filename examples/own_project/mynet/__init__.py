"""An example user package: a model for tables that hpt tunes without any edit inside hpt."""

from mynet.model import TabularNet

__all__ = ["TabularNet"]
