"""``python -m hpt.torch_check``: do the installed torch and torchvision work together?

A torchvision built for another torch (the two installed from different package indexes, or
one upgraded alone) fails on its first compiled operator, ``operator torchvision::nms does not
exist``, long after the install. ``make install`` runs this check at its end; it prints one
line and exits 1 when the pair does not match, saying how to reinstall both.
"""

from __future__ import annotations

import sys

FIX = (
    "reinstall both from one index: `make install TORCH_BACKEND=cpu` (or cu126, ...), "
    "or `uv pip install --torch-backend=cpu torch torchvision`"
)


def mismatch() -> str | None:
    """What is wrong with the installed torch/torchvision pair, or None when they match.

    Returns:
        One line naming both versions and the error, or None.
    """
    try:
        import torch
    except Exception as exc:  # not installed, or a broken wheel
        return f"torch does not import ({type(exc).__name__}: {exc})"
    try:
        import torchvision
        from torchvision.ops import nms

        nms(torch.zeros(1, 4), torch.ones(1), 0.5)  # a compiled torchvision operator
    except Exception as exc:
        version = getattr(sys.modules.get("torchvision"), "__version__", "?")
        error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"torch {torch.__version__} and torchvision {version} do not match ({error})"
    built_for = getattr(getattr(torchvision, "version", None), "cuda", None)
    if (built_for is None) != (torch.version.cuda is None):  # a CPU build beside a CUDA one
        return (
            f"torch {torch.__version__} and torchvision {torchvision.__version__} do not match "
            f"(one is a CPU build, the other built for CUDA)"
        )
    return None


def main() -> int:
    """Print the pair's versions, or what is wrong and the fix; 0 when they match."""
    problem = mismatch()
    if problem:
        print(f"hpt: {problem}; {FIX}", file=sys.stderr)
        return 1
    import torch
    import torchvision

    print(f"torch {torch.__version__} | torchvision {torchvision.__version__} (they match)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
