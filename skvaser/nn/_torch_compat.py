"""The private torch calls skvaser relies on, each behind a public fallback.

They are private (underscored) because torch offers no public equivalent; a torch release that
renames or drops one costs speed, never correctness: the fallbacks compute the same results.
"""

import torch

__all__ = ["cpu_has_bfloat16_dot_products", "softmax_in_place"]


def cpu_has_bfloat16_dot_products():
    """Whether this CPU has bfloat16 dot-product instructions (AVX512-BF16 or AMX tiles).

    False where torch no longer offers the private probes (``torch.cpu._is_avx512_bf16_supported``,
    ``torch.cpu._is_amx_tile_supported``): bfloat16 products are then not chosen automatically.
    """
    probes = [
        getattr(torch.cpu, name, None)
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    return any(probe() for probe in probes if probe is not None)


def softmax_in_place(block):
    """Overwrite the 2-D ``block`` with its softmax over dimension 1; return it.

    For a bfloat16 ``block`` the softmax computes in float32 and rounds the probabilities once.
    ``aten._softmax.out`` writes in place, row by row (the kernel reads a row before it writes
    it); where torch lacks it, the softmax is computed into a new tensor and copied back.
    """
    out_variant = getattr(getattr(torch.ops.aten, "_softmax", None), "out", None)
    if out_variant is not None:
        return out_variant(block, 1, False, out=block)
    dtype = torch.promote_types(block.dtype, torch.float32)
    return block.copy_(torch.softmax(block, dim=1, dtype=dtype))
