"""hpt's config language: what a setting may be, and the check a composed config passes first.

Read in this order:

- ``schema``: the structured-config schemas, the type of every setting of every config group.
- ``ranges``: the one language for allowed ranges (``Num``, ``OneOf``, ``ListOf``, ``Match``).
- ``rules``: every setting's allowed range (``RULES``) and ``problems``, the check against them.
- ``check``: ``validate`` and the ``Validate`` Hydra callback, run once before anything runs.

Import names from the module that defines them; this face imports nothing.
"""
