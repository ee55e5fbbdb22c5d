"""Stage 3 of a run: the round loop (:mod:`.study`), its stops (:mod:`.guards`), a round's
execution (:mod:`.execution`), scoring (:mod:`.scoring`), evaluation outcomes (:mod:`.outcomes`),
the engine's inputs and snapshots (:mod:`.engine_io`), the final pick (:mod:`.finalize`) and what
it reports while it runs (:mod:`.hooks`).
"""
