"""Run records: results directories written, read and checked; provenance."""
