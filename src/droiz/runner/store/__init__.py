"""Stage 4 of a run: what it keeps on disk. The run directory, its file names and lock
(:mod:`.rundir`), the journal (:mod:`.records`, :mod:`.journal`), the engine state
(:mod:`.engine_state`), rebuilding a run from them (:mod:`.restore`), its usage (:mod:`.usage`),
atomic writes (:mod:`.atomic`) and the listing of runs (:mod:`.runs`).
"""
