"""Hugging Face models: torch-free lookup (config), loading (runtime), generation and extractive QA."""
