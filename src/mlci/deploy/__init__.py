"""Deploy: the release package and its model card, champion vs challenger, and the model registry on git tags."""
