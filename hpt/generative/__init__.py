"""Generative tasks on MNIST: ``hpt train task=gan`` and ``hpt train task=vae``.

``hpt.train.run`` hands a config whose ``task.name`` is not ``supervised`` to ``run`` here;
the run directory, reporting and sweeps work as for any hpt run. Modules: ``build`` (the
generative objects from the config), ``models``, ``gan`` and ``vae`` (one epoch each, through
``hpt.loop``'s update and epoch driver), ``scorer`` (the GAN's objective), ``samples`` (PNG
grids), ``run`` (the run directory, through ``hpt.record``).

Settings come from ``task.*`` (conf/task/gan.yaml, vae.yaml) plus ``data`` and ``trainer``
(epochs, batch_size, eval_batch_size, precision, device, seed, deterministic, val_split); the
model, optimizer, scheduler, loss and regularization groups and trainer.compile/channels_last/
data_on_device are not used (the data is always held on the device: MNIST is small).
"""

from __future__ import annotations

from hpt.generative.run import run

__all__ = ["run"]
