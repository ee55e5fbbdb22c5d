"""Stage 6 of a run: experiment tracking (``--track``). The tracker protocol (:mod:`.hooks`),
what is logged (:mod:`.metrics`) and MLflow (:mod:`.mlflow_tracker`).
"""
