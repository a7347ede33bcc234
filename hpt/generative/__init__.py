"""Generative tasks on MNIST: ``hpt train task=gan`` and ``hpt train task=vae``.

``conf/task/gan.yaml`` and ``vae.yaml`` name ``hpt.generative.run.Gan`` / ``Vae`` by
``task._target_``; ``hpt.train.run`` drives them like any hpt run. Modules: ``build`` (the
generative objects from the config), ``models``, ``gan`` and ``vae`` (one epoch each, through
``hpt.training.loop``'s update and epoch driver), ``scorer`` (the GAN's objective), ``samples`` (PNG
grids), ``run`` (the two tasks, through the ``hpt.task`` protocol).

Settings come from ``task.*`` (conf/task/gan.yaml, vae.yaml) plus ``data`` and ``trainer``
(epochs, batch_size, eval_batch_size, precision, device, seed, deterministic, val_split); the
model, optimizer, scheduler, loss and regularization groups and trainer.compile/channels_last/
data_on_device are not used (the data is always held on the device: MNIST is small).
"""
