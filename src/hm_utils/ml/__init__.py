"""ML layer: feature tables from gold, models tracked and registered in MLflow, honest held-out evaluation,
batch scoring into the ML schema and a model server. Declarations: `features/*.yml` and `models/*.yml`."""
