"""Registers ganedit.testing's tiny upscaler, hole filler and generator (each edit takes
milliseconds), and ``tiny-slow``: the upscaler taking 0.2 s per image, so that a folder run
lasts long enough to be cancelled from the page."""

import time

import ganedit
from ganedit.testing import TinyGenerate, TinyInpaint, TinyUpscale

SECONDS_PER_IMAGE = 0.2


class TinySlow(TinyUpscale):
    name = "tiny-slow"
    summary = "Tiny upscaler that sleeps 0.2 s per image (cancel tests)."

    def predict(self, net, inputs, config):
        time.sleep(SECONDS_PER_IMAGE * inputs["image"].shape[0])
        return super().predict(net, inputs, config)


@ganedit.hookimpl
def ganedit_register_models(register):
    register(TinyUpscale)
    register(TinyInpaint)
    register(TinyGenerate)
    register(TinySlow)
