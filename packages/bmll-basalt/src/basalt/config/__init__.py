"""Pipeline configuration: models, loading, validation."""
