"""ganedit's bundled assets: default weights (``weights/``) and sample photos (``samples/``).

Installed as the package ``ganedit_assets`` so wheels carry them; read through
:func:`ganedit.weights.resolve_resource` with specs like ``"ganedit_assets:weights/x.safetensors"``.
"""
