"""The pull-request review: the report, its Markdown rendering and charts, and the comment poster."""
