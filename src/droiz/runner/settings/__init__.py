"""Stage 1 of a run: its settings. The schema (:mod:`.schema`), every setting declared once
(:mod:`.config`), their checks (:mod:`.checks`), config files (:mod:`.files`), the rules of
``--resume`` (:mod:`.resume`) and the settings tables of the docs (:mod:`.docs`).
"""
