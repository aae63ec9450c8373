"""Running a folder: :func:`~ganedit.infer.run.runner.run_folder` and its parts.

``ganedit.infer`` itself edits one image (``editor``, ``loading``, ``tiling``, ``plan``,
``layouts``, ``resize``, ``ensemble``, ``autotune``, ``options``...); this sub-package runs an
editor over a folder. One job per module: ``runner`` (:func:`run_folder`, a short
orchestration), ``driver`` (the driver's own steps: load spec, skipping, claimed outputs, merged
parts), ``executors`` (:class:`Executor`: where the files are processed; ``local`` built in),
``process`` (:func:`process_items`, the engine-agnostic seam: items in, records out;
:func:`merge_manifests`), ``pipeline`` (decode -> device -> encode), ``model_stage`` (the device
stage), ``transfer`` (asynchronous copies back to the host), ``jobs`` (one file: decode + mask),
``outputs`` (output paths, writes, temp files), ``records`` (the driver's one record per input),
``report`` (:class:`RunReport`), ``resume`` (what ``skip_existing`` redoes), ``lock`` (the
output-folder lock), ``signals`` (Ctrl-C / SIGTERM).

Nothing here is public by its module path: the public names are exported by
:mod:`ganedit.infer`. The modules of ``ganedit.infer`` do not import this package.
"""
