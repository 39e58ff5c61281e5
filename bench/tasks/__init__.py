"""Tasks: definitions (YAML) over fixtures or datasets, checked and turned into examples."""
