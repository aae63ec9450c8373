"""The generator exactly as its weights file holds it (the training layout, NCHW, fp32), for
the naive baselines and the MAC counts of the benchmarks: ``ganedit.load`` runs the family's
inference form instead (:meth:`ganedit.ModelFamily.inference_net`), which a Real-ESRGAN-style
loop would not have."""

from __future__ import annotations

import torch

from ganedit.weights import load_weights


def plain_generator(editor) -> torch.nn.Module:  # type: ignore[no-untyped-def]
    """``editor``'s generator rebuilt from its weights file, eval mode, on its device."""
    net = editor.family.build_generator(editor.generator_name, editor.config)
    if editor.weights_path is not None:
        state, _ = load_weights(editor.weights_path)
        prefix = f"{editor.generator_name}."
        own = {k[len(prefix) :]: v.float() for k, v in state.items() if k.startswith(prefix)}
        net.load_state_dict(own or {k: v.float() for k, v in state.items()})
    return net.to(editor.device).eval().requires_grad_(False)
