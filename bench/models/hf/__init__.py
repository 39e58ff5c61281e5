"""Hugging Face models: torch-free lookup (config), specs and the loading factory (factory), loading and
batching (runtime), generation (generate) and extractive QA (qa)."""
