"""Running models on tasks: predictions in batches, the prediction cache, several processes, rescoring."""
