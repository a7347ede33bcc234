"""Ready-made glue for training libraries users already have; each imports its library only
when used (``hpt.integrations.lightning`` needs ``pip install 'hpt[lightning]'``)."""
